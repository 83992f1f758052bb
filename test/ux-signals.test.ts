/**
 * Ctrl-C, SIGTERM and closed pipes, with real processes as a shell runs them: the signal stops the
 * command promptly, exit 130 / 143, no partial output file and no copy of standard input left; a
 * reader that closes the output early (`| head`) ends the run with 0 and nothing on stderr.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = 'bin/asid-replay.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fresh = (tag: string) => mkdtempSync(join(tmpdir(), `asid-replay-ux-${tag}-`));

/** Start the CLI with stdout to `stdoutFile` (or a pipe) and its own TMPDIR. */
function start(args: string[], o: { stdoutFile?: string; tmp?: string; stdin?: 'pipe' | 'ignore' } = {}) {
  const fd = o.stdoutFile ? openSync(o.stdoutFile, 'w') : undefined;
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: [o.stdin ?? 'ignore', fd ?? 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: o.tmp ?? fresh('tmp') },
  });
  if (fd !== undefined) closeSync(fd);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, err })),
  );
  return { child, exited };
}

/** The size of `file`, 0 when it is not there (a temporary file can be renamed between a listing and a stat). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Wait until `ready()` holds (the command is at work), at most `ms`. */
async function until(ready: () => boolean, ms = 20_000): Promise<void> {
  const t = Date.now();
  while (!ready()) {
    if (Date.now() - t > ms) throw new Error('the command never got to work');
    await sleep(50);
  }
}

/** Whether process `pid` has `file` open (Linux /proc): it is reading its input, long past installing its signal handlers. */
function hasOpen(pid: number | undefined, file: string): boolean {
  try {
    const dir = `/proc/${pid}/fd`;
    return readdirSync(dir).some((fd) => {
      try {
        return readlinkSync(join(dir, fd)) === file;
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false;
  }
}

/**
 * The longest a prompt stop may take: 2 s, or on a loaded machine 8 times what starting a bare
 * `node -e 0` takes right now (the anchor: a stop is an event-loop turn and an exit, less work than
 * a start-up), so that other work on the machine does not fail the test and a stop that waits for
 * the end of the input still does (the input takes far longer).
 */
function promptly(): number {
  const t = Date.now();
  spawnSync(process.execPath, ['-e', '0']);
  return Math.max(2000, 8 * (Date.now() - t));
}

/** Send `sig` and measure how long the process takes to end (killed after 30 s: a failure). */
async function interrupt(
  p: { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> },
  sig: NodeJS.Signals,
) {
  const t = Date.now();
  p.child.kill(sig);
  const guard = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  const r = await p.exited;
  clearTimeout(guard);
  return { ...r, ms: Date.now() - t };
}

let big: string;
beforeAll(() => {
  big = join(fresh('big'), 'big.csv');
  const r = spawnSync(process.execPath, [BIN, 'generate', 'kernel-build', '-n', '1000000', '--seed', '3', '-o', big], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('SIGINT / SIGTERM', () => {
  it('generate --events 100000000 -o - > big.csv: Ctrl-C is exit 130 at once (stdout is a file: writes never wait)', async () => {
    const out = join(fresh('gen'), 'big.csv');
    const p = start(['generate', 'kernel-build', '--events', '100000000', '-o', '-'], { stdoutFile: out });
    await until(() => sizeOf(out) > 1_000_000);
    const limit = promptly();
    const r = await interrupt(p, 'SIGINT');
    expect([r.code, r.signal], r.err).toEqual([130, null]);
    expect(r.ms).toBeLessThan(limit);
  }, 60_000);

  it('the same with SIGTERM: exit 143', async () => {
    const out = join(fresh('gen'), 'big.csv');
    const p = start(['generate', 'kernel-build', '--events', '100000000', '-o', '-'], { stdoutFile: out });
    await until(() => sizeOf(out) > 1_000_000);
    const limit = promptly();
    const r = await interrupt(p, 'SIGTERM');
    expect([r.code, r.signal], r.err).toEqual([143, null]);
    expect(r.ms).toBeLessThan(limit);
  }, 60_000);

  it('generate -o file: exit 130, neither the file nor its temporary file is left', async () => {
    const dir = fresh('gen-file');
    const p = start(['generate', 'kernel-build', '--events', '100000000', '-o', join(dir, 'big.csv')]);
    await until(() => readdirSync(dir).some((f) => f.endsWith('.tmp') && sizeOf(join(dir, f)) > 1_000_000));
    const r = await interrupt(p, 'SIGINT');
    expect([r.code, r.signal], r.err).toEqual([130, null]);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('replay with every picture: exit 130, no picture file and no temporary file left', async () => {
    const dir = fresh('replay');
    const p = start([
      'replay',
      big,
      '--html',
      join(dir, 'a.html'),
      '--perfetto',
      join(dir, 'a.json'),
      '--timeseries',
      join(dir, 'a.csv'),
      '--interval',
      '1000',
    ]);
    await until(() => readdirSync(dir).some((f) => f.startsWith('a.json') && sizeOf(join(dir, f)) > 100_000));
    const limit = promptly();
    const r = await interrupt(p, 'SIGINT');
    expect([r.code, r.signal], r.err).toEqual([130, null]);
    expect(r.ms).toBeLessThan(limit);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('compare --html and replay - (standard input copied): exit 130 / 143, the copy is removed', async () => {
    const dir = fresh('compare');
    const c = start(['compare', big, '--kernel', '6.1,6.11', '--html', join(dir, 'c.html')]);
    await until(() => hasOpen(c.child.pid, big)); // at work (a fixed sleep was too short under load)
    const rc = await interrupt(c, 'SIGINT');
    expect([rc.code, rc.signal], rc.err).toEqual([130, null]);
    expect(readdirSync(dir)).toEqual([]);

    const tmp = fresh('stdin');
    const p = start(['replay', '-'], { tmp, stdin: 'pipe' });
    p.child.stdin!.write('time,event,cpu,task\n0,fork,,1\n'); // the copy exists and stdin stays open
    await until(() => readdirSync(tmp).length > 0);
    const r = await interrupt(p, 'SIGTERM');
    expect([r.code, r.signal], r.err).toEqual([143, null]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it('explore (a synchronous search) stops at once: killed by SIGINT, which a shell reports as 130', async () => {
    const p = start(['explore', '--cpus', '4', '--asid-bits', '4', '--strategy', 'bfs', '--max-states', '100000000', '--time-limit', '60']);
    // in its synchronous loop by then (start-up takes a few hundred ms)
    await sleep(1000);
    const limit = promptly();
    const r = await interrupt(p, 'SIGINT');
    expect(r.code === 130 || r.signal === 'SIGINT', `${r.code} ${r.signal}`).toBe(true);
    expect(r.ms).toBeLessThan(limit);
    const shell = spawnSync('bash', [
      '-c',
      `${JSON.stringify(process.execPath)} ${BIN} explore --cpus 4 --asid-bits 4 --strategy bfs --max-states 100000000 --time-limit 60 & P=$!; sleep 1; kill -INT $P; wait $P`,
    ]);
    expect(shell.status).toBe(130);
  }, 60_000);
});

describe('closed standard output (| head)', () => {
  const piped = (cmd: string) => {
    const r = spawnSync(
      'bash',
      ['-c', `${JSON.stringify(process.execPath)} ${BIN} ${cmd} | head -1 > /dev/null; echo "\${PIPESTATUS[0]}"`],
      {
        encoding: 'utf8',
      },
    );
    return { code: Number(r.stdout.trim()), err: r.stderr };
  };
  it('generate, replay --json, compare --json, import, replay --perfetto -: exit 0, nothing on stderr', () => {
    expect(piped('generate kernel-build -n 10000000 -o - 2>/dev/null')).toEqual({ code: 0, err: '' });
    expect(piped('replay traces/real/juno-trace-txt.csv --json')).toEqual({ code: 0, err: '' });
    expect(piped('compare traces/real/juno-trace-txt.csv --kernel 6.1,6.11 --json')).toEqual({ code: 0, err: '' });
    expect(piped('import auto traces/real/recordings/lisa-juno-rtapp/trace.dat -o - 2>/dev/null')).toEqual({ code: 0, err: '' });
    // the report goes to standard error (the timeline has standard output), when the replay gets that far
    const perfetto = piped(`replay ${big} --perfetto - --json`);
    expect(perfetto.code).toBe(0);
    if (perfetto.err !== '') expect(JSON.parse(perfetto.err).schema).toBe('asid-replay/report');
  }, 120_000);
});
