/**
 * The HTML report in a real headless Chromium: no console error, every chart drawn (a canvas with
 * more than one colour), findings linked to their trace rows; a screenshot is saved.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { cli, tmp } from './helpers/cli.js';
import { findChromium } from './setup/chromium.js';

const chromium = findChromium();
if ('skip' in chromium) console.warn(`html.test.ts: browser tests skipped: ${chromium.skip}`);

describe.skipIf('skip' in chromium)('HTML report in headless Chromium', () => {
  let browser: Browser;
  const dir = tmp();
  const shots = join(dir, 'screenshots');
  mkdirSync(shots);

  beforeAll(async () => {
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({ executablePath: (chromium as { path: string }).path, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    console.log(`html.test.ts: screenshots in ${shots}`);
  });

  /** Open `file`, collect console errors, measure every chart canvas, save a screenshot. */
  async function open(file: string, shot: string) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction('window.__chartsDrawn === true', undefined, { timeout: 15_000 });
    // In the page (a string: the tests are compiled without the DOM types).
    const charts: { title: string; canvases: number; colours: number[] }[] = await page.evaluate(`
      [...document.querySelectorAll('.chart')].map((el) => {
        const title = el.querySelector('b')?.textContent ?? '';
        const canvases = [...el.querySelectorAll('canvas')];
        const colours = canvases.map((c) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const seen = new Set();
          for (let i = 0; i < d.length && seen.size < 3; i += 4 * 7) seen.add((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]);
          return seen.size;
        });
        return { title, canvases: canvases.length, colours };
      })`);
    await page.screenshot({ path: join(shots, shot), fullPage: true });
    const links: string[] = await page.evaluate(`[...document.querySelectorAll('table.findings a')].map((a) => a.getAttribute('href'))`);
    const anchors: string[] = await page.evaluate(`[...document.querySelectorAll('div.line')].map((d) => d.id)`);
    await page.close();
    return { errors, requests, charts, links, anchors };
  }

  it('a shipped real trace (Juno, 6 CPUs)', async () => {
    const html = join(dir, 'juno.html');
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--html', html);
    expect(r.code, r.err).toBe(0);
    expect(statSync(html).size).toBeLessThan(2_000_000);
    const page = await open(html, 'juno.png');
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([]);
    expect(page.charts.length).toBeGreaterThanOrEqual(5);
    for (const c of page.charts) {
      expect(c.canvases, c.title).toBeGreaterThan(0);
      for (const n of c.colours) expect(n, `chart "${c.title}" is blank`).toBeGreaterThan(1);
    }
    expect(page.charts.map((c) => c.title)).toContain('mm at the end of each bucket (white: idle)');
  }, 60_000);

  it('a trace with stale findings: charts per SMMU, findings linked to their rows', async () => {
    const html = join(dir, 'race.html');
    const r = await cli('replay', 'traces/scenarios/asid-move-race.csv', '--kernel', '6.1', '--html', html);
    expect(r.code, r.err).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script[^>]+src=/);
    expect(text).not.toMatch(/<link[^>]+href=/);
    const page = await open(html, 'asid-move-race.png');
    expect(page.errors).toEqual([]);
    const titles = page.charts.map((c) => c.title);
    expect(titles).toContain('SMMU smmu0: IOTLB and ATC');
    expect(titles).toContain('SMMU smmu0: commands by opcode');
    for (const c of page.charts) for (const n of c.colours) expect(n, `chart "${c.title}" is blank`).toBeGreaterThan(1);
    // S-UNMAP latent at the unmap of row 13 and hit at the dma of row 14, both filled by the dma of
    // row 11 and due to be gone after the unmap of row 13.
    expect([...new Set(page.links)].sort()).toEqual(['#L11', '#L13', '#L14']);
    for (const l of page.links) expect(page.anchors).toContain(l.slice(1));
  }, 60_000);

  it('compare --html: the series of every system overlaid', async () => {
    const html = join(dir, 'compare.html');
    const r = await cli('compare', 'traces/scenarios/asid-move-race.csv', '--kernel', '6.1,6.11', '--html', html);
    expect(r.code, r.err).toBe(0);
    const page = await open(html, 'compare.png');
    expect(page.errors).toEqual([]);
    for (const c of page.charts) for (const n of c.colours) expect(n, `chart "${c.title}" is blank`).toBeGreaterThan(1);
    expect(page.charts.map((c) => c.title)).toEqual(expect.arrayContaining(['Findings (6.1)', 'Findings (6.11)']));
  }, 60_000);
});
