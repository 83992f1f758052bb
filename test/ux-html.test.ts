/**
 * The HTML report as a user sees it, in a real headless Chromium, checked from the DOM: the
 * findings table's columns (SMMU, device, SSID/PASID, ASID, VA, kind, row, source), labelled y
 * axes, one time axis for every chart (the same plotting area and range), tick labels that do not
 * repeat on a short trace, no clipped axis label, a colour per busy mm past 4096 mms (the others
 * grey, "other"), a colour per system in `compare --html`, injected faults named at the top.
 *
 * Chromium: /usr/bin/chromium (or CHROMIUM_PATH); when there is none the tests are skipped, saying
 * why (nothing is installed). UPDATE_SCREENSHOT=1 writes docs/img/html-report.png.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';

const BIN = 'bin/asid-replay.js';
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const CHROMIUM = CANDIDATES.find((p): p is string => Boolean(p) && existsSync(p!));
if (!CHROMIUM) console.log('ux-html.test.ts: skipped: no Chromium (/usr/bin/chromium; set CHROMIUM_PATH, or apt-get install chromium)');

const dir = mkdtempSync(join(tmpdir(), 'asid-replay-ux-html-'));

/** Run the CLI as a user does; the page it wrote. */
function run(...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** What the page's charts say about themselves (uPlot instances the page keeps in window.__plots). */
interface PlotFacts {
  title: string;
  left: number;
  width: number;
  height: number;
  xmin: number;
  xmax: number;
  xticks: string[];
  /** Left y axis: label, its width in the axis font, the axis width, its widest tick label. */
  ylabel: string;
  ylabelWidth: number;
  ysize: number;
  ytickWidth: number;
  strokes: Record<string, string>;
}

describe.skipIf(!CHROMIUM)('HTML report (headless Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);
  afterAll(async () => browser?.close());

  async function open(file: string): Promise<{ page: Page; errors: string[]; plots: PlotFacts[] }> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction('window.__chartsDrawn === true', undefined, { timeout: 20_000 });
    const plots: PlotFacts[] = await page.evaluate(`(() => {
      const pr = uPlot.pxRatio || devicePixelRatio || 1;
      const m = document.createElement('canvas').getContext('2d');
      const w = (t, font) => { m.font = font; return m.measureText(String(t)).width; };
      return window.__plots.map(({ title, u }) => {
        const y = u.axes[1];
        const strokes = {};
        u.series.slice(1).forEach((s) => { strokes[s.label] = typeof s.stroke === 'function' ? s.stroke(u, 1) : s.stroke; });
        return {
          title,
          left: u.bbox.left / pr, width: u.bbox.width / pr, height: u.bbox.height / pr,
          xmin: u.scales.x.min, xmax: u.scales.x.max,
          xticks: u.axes[0]._values.map(String),
          ylabel: y.label || '',
          ylabelWidth: w(y.label || '', 'bold 12px system-ui, sans-serif'),
          ysize: y._size,
          ytickWidth: Math.max(0, ...(y._values || []).map((v) => w(v, window.__axisFont))),
          strokes,
        };
      });
    })()`);
    return { page, errors, plots };
  }

  /** Facts every page holds: one time axis, labelled and unclipped y axes, distinct x ticks. */
  function commonFacts(plots: PlotFacts[]): void {
    expect(plots.length).toBeGreaterThanOrEqual(5);
    const [first] = plots;
    for (const p of plots) {
      // one time axis: the same plotting area and range in every chart, the findings chart too
      expect([p.left, p.width, p.xmin, p.xmax], p.title).toEqual([first!.left, first!.width, first!.xmin, first!.xmax]);
      expect(p.ylabel, `${p.title}: y axis label`).not.toBe('');
      expect(p.ylabelWidth, `${p.title}: the y label "${p.ylabel}" is longer than the chart is high`).toBeLessThanOrEqual(p.height);
      expect(p.ysize, `${p.title}: a y tick label is wider than its axis`).toBeGreaterThanOrEqual(p.ytickWidth + 10);
      expect(new Set(p.xticks).size, `${p.title}: x tick labels repeat: ${p.xticks.join(' ')}`).toBe(p.xticks.length);
    }
    expect(plots.some((p) => p.title.startsWith('Findings'))).toBe(true);
  }

  it('replay --html with an injected fault: findings columns, faults at the top, one time axis; a screenshot', async () => {
    const html = join(dir, 'sva.html');
    run('replay', 'traces/real/juno-trace-txt-sva.csv', '--kernel', 'rfc-btm-2023', '--fault', 'no-dvm', '--html', html);
    const { page, errors, plots } = await open(html);
    expect(errors).toEqual([]);
    commonFacts(plots);
    const table: { head: string[]; first: string[] } = await page.evaluate(`(() => {
      const t = document.querySelector('table.findings');
      return { head: [...t.querySelectorAll('thead th')].map((th) => th.textContent),
               first: [...t.querySelectorAll('tbody tr')[0].children].map((td) => td.textContent) };
    })()`);
    expect(table.head).toEqual(['SMMU', 'device', 'SSID/PASID', 'ASID', 'VA', 'kind', 'row', 'source']);
    const [smmu, device, pasid, asid, va, kind, row, source] = table.first;
    expect(smmu).toBe('smmu0');
    expect(device).not.toBe('');
    expect(pasid).toMatch(/^\d+$/);
    expect(asid).toMatch(/^\d+$/);
    expect(va).toMatch(/^0x[0-9a-f]+$/);
    expect(kind).toMatch(/^stale /);
    expect(row).toMatch(/^\d+$/);
    expect(source).toMatch(/^\d+\.\d+@L\d+$/);
    // the injected fault is named above the charts
    const faults: { text: string; above: boolean } = await page.evaluate(`(() => {
      const f = document.getElementById('faults');
      return { text: f ? f.textContent : '', above: !!f && f.getBoundingClientRect().top < document.getElementById('charts').getBoundingClientRect().top };
    })()`);
    expect(faults.text).toContain('no-dvm');
    expect(faults.above).toBe(true);
    const shot = process.env.UPDATE_SCREENSHOT ? 'docs/img/html-report.png' : join(dir, 'html-report.png');
    await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1200, height: 760 } });
    await page.close();
  }, 60_000);

  it('a short trace: tick labels never repeat, on the time axis (ns apart) and the row axis', async () => {
    const t = join(dir, 'short.csv');
    writeFileSync(
      t,
      '# system: {"cpus": 2, "asidBits": 8}\ntime,event,cpu,task,mm\n' +
        '1000000000,fork,,1,A\n1000000003,fork,,2,B\n1000000007,schedule,0,1,\n1000000011,schedule,1,2,\n1000000013,pin,,,A\n1000000017,schedule,0,2,\n',
    );
    const html = join(dir, 'short.html');
    run('replay', t, '--html', html);
    const timed = await open(html);
    expect(timed.errors).toEqual([]);
    commonFacts(timed.plots);
    await timed.page.close();
    const rows = join(dir, 'rows.html');
    run('replay', 'traces/scenarios/pin-v1-ordering-bug.csv', '--html', rows);
    const byRow = await open(rows);
    commonFacts(byRow.plots);
    for (const p of byRow.plots) for (const v of p.xticks) expect(v, p.title).toMatch(/^\d+$/); // rows: whole numbers
    await byRow.page.close();
  }, 60_000);

  it('past 4096 mms: a colour for each of the busiest, grey "other" for the rest', async () => {
    const t = join(dir, 'many.csv');
    run('generate', 'kernel-build', '-n', '60000', '--seed', '2', '-o', t); // 6016 mms
    const html = join(dir, 'many.html');
    run('replay', t, '--html', html);
    const { page, errors } = await open(html);
    expect(errors).toEqual([]);
    const legend: { name: string; colour: string }[] = await page.evaluate(
      `[...document.querySelectorAll('.mm-legend span.mm')].map((e) => ({ name: e.textContent, colour: e.getAttribute('data-colour') }))`,
    );
    const named = legend.filter((l) => !l.name.startsWith('other'));
    expect(named.length).toBeGreaterThan(3);
    expect(named.length).toBeLessThanOrEqual(16);
    expect(new Set(named.map((l) => l.colour)).size).toBe(named.length); // distinct
    const other = legend.find((l) => l.name.startsWith('other'));
    expect(other?.name).toMatch(/^other \(\d{4,} mms\)$/);
    expect(named.map((l) => l.colour)).not.toContain(other!.colour);
    await page.close();
  }, 120_000);

  it('compare --html: a distinct colour per system, in the list at the top and in every chart', async () => {
    const html = join(dir, 'race.html');
    run('compare', 'traces/scenarios/asid-move-race.csv', '--kernel', '6.1,6.11,rfc-btm-2023', '--html', html);
    const { page, errors, plots } = await open(html);
    expect(errors).toEqual([]);
    commonFacts(plots);
    const systems: { label: string; colour: string }[] = await page.evaluate(
      `[...document.querySelectorAll('ul.systems li')].map((e) => ({ label: e.querySelector('b').textContent, colour: e.getAttribute('data-colour') }))`,
    );
    expect(systems.map((s) => s.label)).toEqual(['6.1', '6.11', 'rfc-btm-2023']);
    expect(new Set(systems.map((s) => s.colour)).size).toBe(3);
    const chart = plots.find((p) => p.title === 'Context switches and TLB maintenance')!;
    for (const s of systems) {
      const strokes = Object.entries(chart.strokes).filter(([label]) => label.endsWith(`(${s.label})`));
      expect(strokes.length).toBeGreaterThan(0);
      for (const [label, stroke] of strokes) expect(stroke, label).toBe(s.colour);
    }
    await page.close();
  }, 60_000);
});
