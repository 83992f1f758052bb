/**
 * Every command that reads a trace (or a system file) reads `-`, standard input, once, as a user
 * types it in a shell: `cat trace.csv | asid-replay compare - --kernel 6.1,6.11`. Real processes;
 * each run gets its own TMPDIR so that a copy left behind is seen.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = 'bin/asid-replay.js';
const RACE = 'traces/scenarios/asid-move-race.csv';
const SVA = 'traces/real/juno-trace-txt-sva.csv';

/** `cat <file> | asid-replay <args>` in bash. */
function piped(file: string, args: string) {
  const dir = mkdtempSync(join(tmpdir(), 'asid-replay-ux-stdin-'));
  const r = spawnSync('bash', ['-c', `cat ${file} | ${JSON.stringify(process.execPath)} ${BIN} ${args}`], {
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: dir },
  });
  return { code: r.status, out: r.stdout, err: r.stderr, leftovers: readdirSync(dir) };
}

function direct(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A compare JSON without the trace name (the one thing a pipe changes). */
const unnamed = (json: string) => {
  const j = JSON.parse(json);
  delete j.trace;
  for (const s of j.systems) delete s.report.trace.name;
  return j;
};

describe('compare -', () => {
  it('cat trace.csv | compare - --kernel 6.1,6.11: the table of the file, named "-", no copy left', () => {
    const r = piped(RACE, 'compare - --kernel 6.1,6.11');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('asid-replay compare: -: 12 events, 2 systems');
    expect(r.leftovers).toEqual([]);
    const file = direct(['compare', RACE, '--kernel', '6.1,6.11']);
    expect(r.out.split('\n').slice(1)).toEqual(file.out.split('\n').slice(1));
  });

  it('--fault applies to every system, as replay --fault does; - and the file agree', () => {
    const r = piped(SVA, 'compare - --kernel rfc-btm-2023,6.1 --fault no-dvm --json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trace).toBe('-');
    expect(j.systems.map((s: { report: { stale: { total: number } } }) => s.report.stale.total)).toEqual([192, 0]);
    expect(j.systems[0].settings.faults).toEqual(['no-dvm']);
    expect(r.err).toContain('fault no-dvm cannot apply on 6.1'); // inert on a kernel without BTM, said once per system
    const replay = direct(['replay', SVA, '--kernel', 'rfc-btm-2023', '--fault', 'no-dvm', '--json']);
    expect(j.systems[0].report.stale.total).toBe(JSON.parse(replay.out).stale.total);
    const file = direct(['compare', SVA, '--kernel', 'rfc-btm-2023,6.1', '--fault', 'no-dvm', '--json']);
    expect(unnamed(r.out)).toEqual(unnamed(file.out));
    expect(r.leftovers).toEqual([]);
  });

  it('an unknown fault is exit 2 naming the choices; a bad trace on stdin names "-" and its line', () => {
    const bad = direct(['compare', RACE, '--kernel', '6.1', '--fault', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown fault "nope"; expected some of: ');
    const broken = piped('<(printf "event,task\\nfork,1\\nfrok,2\\n")', 'compare - --kernel 6.1,6.11');
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/^asid-replay: -:3:1: unknown event "frok"/);
    expect(broken.leftovers).toEqual([]);
    const kernel = piped(RACE, 'compare - --kernel 6.1,9.9');
    expect(kernel.code).toBe(2);
    expect(kernel.err).toMatch(/^asid-replay: -(:\d+:\d+)?: system 9\.9: /);
    expect(kernel.err).not.toContain('no such file');
  });

  it('compare - --html writes the page quoting the lines of standard input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asid-replay-ux-html-'));
    const html = join(dir, 'race.html');
    const r = piped(RACE, `compare - --kernel 6.1,6.11 --html ${html}`);
    expect(r.code, r.err).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<div class="line" id="L'); // the finding's row quoted from the copy
  });
});

describe('the other commands read - once', () => {
  it('replay -, check - --expect, shrink -, explore --system -', () => {
    const replay = piped(RACE, 'replay - --kernel 6.1 --json');
    expect(replay.code, replay.err).toBe(0);
    expect(JSON.parse(replay.out).stale.total).toBeGreaterThan(0);
    const check = piped('traces/scenarios/pin-v1-ordering-bug.csv', 'check - --expect traces/scenarios/pin-v1-ordering-bug.expected.json');
    expect(check.code, check.err).toBe(0);
    const shrink = piped(RACE, 'shrink - --kernel 6.1 -o -');
    expect(shrink.code, shrink.err).toBe(0);
    expect(shrink.out).toMatch(/^#|^time|^event/m);
    const explore = piped(
      'traces/kernel-bugs/systems/sva.json',
      'explore --system - --kernel 6.5 --find S-PERM --tasks 1 --mms 1 --pins 1 --json',
    );
    expect(explore.code, explore.err).toBe(1); // found: exit 1
    expect(JSON.parse(explore.out).found).toBe(true);
    for (const r of [replay, check, shrink, explore]) expect(r.leftovers).toEqual([]);
  });
});
