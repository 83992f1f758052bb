/**
 * Pipes: `-` as the trace of `replay` and `check` reads standard input once; `/dev/stdin` on a
 * pipe and process substitution `<(...)` (non-seekable) work the same way. The copy made to read
 * them several times is removed, also when the trace is refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';

const BIN = 'bin/asid-replay.js';
const TRACE = 'traces/scenarios/pin-v1-ordering-bug.csv';
const SVA = 'traces/real/juno-trace-txt-sva.csv';

/** Run the CLI with `input` on a pipe as standard input, and its own temporary folder. */
function run(args: string[], input?: string, shell = false) {
  const dir = mkdtempSync(join(tmpdir(), 'asid-replay-stdin-'));
  const r = shell
    ? spawnSync('bash', ['-c', args.join(' ')], { input, encoding: 'utf8', env: { ...process.env, TMPDIR: dir } })
    : spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, TMPDIR: dir } });
  return { code: r.status, out: r.stdout, err: r.stderr, leftovers: readdirSync(dir) };
}

/** A JSON report without its trace name (the name is the only thing a pipe changes). */
const unnamed = (json: string) => {
  const r = JSON.parse(json);
  delete r.trace.name;
  return r;
};

describe('replay -', () => {
  it('standard input, /dev/stdin on a pipe and <(...) give the report of the file; nothing is left behind', async () => {
    const fromFile = await cli('replay', TRACE, '--json'); // the reference, in process: the pipes are the subject
    expect(fromFile.code).toBe(0);
    const text = readFileSync(TRACE, 'utf8');
    const dash = run(['replay', '-', '--json'], text);
    for (const r of [
      dash,
      run(['replay', '/dev/stdin', '--json'], text), // standard input is a socket here
      run([`cat ${TRACE} |`, process.execPath, BIN, 'replay', '/dev/stdin', '--json'], undefined, true), // a pipe
      run([process.execPath, BIN, 'replay', `<(cat ${TRACE})`, '--json'], undefined, true),
    ]) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(unnamed(r.out)).toEqual(unnamed(fromFile.out));
      expect(r.leftovers).toEqual([]);
    }
    expect(JSON.parse(dash.out).trace.name).toBe('-');
  });

  it('a bad trace on standard input: exit 2, file:line:column naming "-", no copy left', () => {
    const bad = run(['replay', '-'], 'event,task\nfork,1\nfrok,2\n');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^asid-replay: -:3:1: unknown event "frok"/);
    expect(bad.leftovers).toEqual([]);
    const impossible = run(['replay', '-'], 'event,cpu,task\nschedule,0,7\n');
    expect(impossible.code).toBe(2);
    expect(impossible.err).toContain('-:2:12: task 7 is not alive');
    expect(run(['replay', '-'], '').err).toContain('-:1:1: no header row');
  });

  it('import -o - | replay -: the findings keep their sources through the pipe', async () => {
    const r = run(
      [
        process.execPath,
        BIN,
        'import ftrace traces/real/recordings/lisa-juno-trace-txt/trace.txt -o - --overlay top:2 --overlay-btm --overlay-ats |',
        process.execPath,
        BIN,
        'replay - --kernel rfc-btm-2023 --fault no-dvm --json',
      ],
      undefined,
      true,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('imported traces/real/recordings/lisa-juno-trace-txt/trace.txt (ftrace) -> -:'); // the import's summary
    const piped = JSON.parse(r.out);
    expect(piped.stale.total).toBe(192);
    expect(piped.stale.findings[0].src).toMatch(/^\d+\.\d{6}@L\d+$/);
    const file = await cli('replay', SVA, '--kernel', 'rfc-btm-2023', '--fault', 'no-dvm', '--json');
    expect(unnamed(r.out)).toEqual(unnamed(file.out));
  });
});

describe('import /dev/stdin', () => {
  it('reads standard input by name even when it is a socket (opening /dev/stdin would fail)', () => {
    const r = spawnSync(process.execPath, [BIN, 'import', 'auto', '/dev/stdin', '-o', '-'], {
      input: readFileSync('traces/real/recordings/lisa-juno-rtapp/trace.dat'),
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(
      r.stdout
        .toString()
        .split('\n')
        .filter((l) => /^\d/.test(l)).length,
    ).toBe(1639); // 1607 events and 32 execs inferred from comm changes of group leaders (no TGIDs)
  });
});

describe('check -', () => {
  const EXPECTED = 'traces/scenarios/pin-v1-ordering-bug.expected.json';
  it('compares standard input with --expect: the stored expectation of the same trace matches', () => {
    const r = run(['check', '-', '--expect', EXPECTED], readFileSync(TRACE, 'utf8'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 traces: 1 same');
    expect(r.leftovers).toEqual([]);
    const other = run(['check', '-', '--expect', EXPECTED, '--json'], readFileSync('traces/scenarios/pin-limit-4bit.csv', 'utf8'));
    expect(other.code).toBe(1);
    expect(JSON.parse(other.out).results).toEqual([{ trace: '-', status: 'differs', expectation: EXPECTED }]);
  });

  it('--update writes the expectation a check of the file writes; <(...) reads it back', () => {
    const e = join(tmp(), 'pin-v1-ordering-bug.expected.json');
    expect(run(['check', '-', '--expect', e, '--update'], readFileSync(TRACE, 'utf8')).code).toBe(0);
    expect(JSON.parse(readFileSync(e, 'utf8'))).toEqual(JSON.parse(readFileSync(EXPECTED, 'utf8')));
    const again = run([process.execPath, BIN, 'check', `<(cat ${TRACE})`, '--expect', e], undefined, true);
    expect(again.code).toBe(0);
  });

  it('standard input without --expect, two piped traces, or --expect with a folder: exit 2 saying why', async () => {
    const none = run(['check', '-'], readFileSync(TRACE, 'utf8'));
    expect(none.code).toBe(2);
    expect(none.err).toContain('-: a trace read from standard input or a pipe has no expectation beside it: give --expect <file>');
    const two = run([process.execPath, BIN, 'check', '-', `<(cat ${TRACE})`, '--expect', EXPECTED], '', true);
    expect(two.code).toBe(2);
    expect(two.err).toContain('only one trace can come from standard input or a pipe');
    // No standard input in these two: in process.
    const folder = await cli('check', 'traces/scenarios', '--expect', EXPECTED);
    expect(folder.code).toBe(2);
    expect(folder.err).toContain('--expect names the expectation of one trace');
    const missing = await cli('check', 'no-such-trace.csv', '--expect', EXPECTED);
    expect([missing.code, missing.err]).toEqual([2, 'asid-replay: no-such-trace.csv: no such file\n']);
    expect(existsSync(EXPECTED)).toBe(true);
  });
});
