/**
 * Start-up: a command loads what it runs and nothing else (src/cli/main.ts, `commandsFor`), so
 * `--version` and a short replay do not pay for zod, the other commands, cli-table3 or uPlot. The
 * modules a real process loads are listed by a module loader hook (not timed: the figures are
 * scripts/bench-startup.mjs's); the help texts are compared with those of the whole program.
 * The module tests run the modules tsc wrote (ASID_REPLAY_UNBUNDLED=1), whose names say what they
 * are; the launcher's bundle (scripts/bundle.mjs) keeps each lazy import a chunk of its own, named
 * after the module it starts with, which the last tests check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../src/cli/main.js';
import { cli } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');

/**
 * The modules (`file:` URLs made relative to the repository, `node:` names) that
 * `node bin/asid-replay.js ...args` loads, in order, with its exit status and output. The hook
 * (module.register, Node 20.6+) appends each URL it loads to a file.
 */
function loads(...args: string[]): { modules: string[]; code: number | null; out: string } {
  return loadsWith({ ASID_REPLAY_UNBUNDLED: '1' }, ...args);
}

/** {@link loads} with `env` added to the environment (without ASID_REPLAY_UNBUNDLED: the launcher's choice). */
function loadsWith(env: Record<string, string>, ...args: string[]): { modules: string[]; code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'asid-replay-startup-'));
  const log = join(dir, 'loaded.txt');
  writeFileSync(log, '');
  const hooks =
    `import { appendFileSync } from 'node:fs';` +
    `export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }`;
  const register =
    `import { register } from 'node:module';` + `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const r = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, 'bin/asid-replay.js', ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ASID_REPLAY_UNBUNDLED: undefined, ...env },
    },
  );
  const prefix = `file://${ROOT}/`;
  // node_modules may be a link to another checkout's (a git worktree): its modules load from there.
  const deps = `file://${realpathSync(join(ROOT, 'node_modules'))}/`;
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => (u.startsWith(deps) ? `node_modules/${u.slice(deps.length)}` : u.startsWith(prefix) ? u.slice(prefix.length) : u));
  return { modules, code: r.status, out: r.stdout };
}

/** The npm packages among `modules` (node_modules/<name>/..., scoped names whole). */
const packages = (modules: string[]): string[] => [
  ...new Set(modules.flatMap((m) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1] ?? [])),
];

describe('start-up: what a command loads', () => {
  it('--version loads commander and the CLI entry, no command, no model, no zod', () => {
    const r = loads('--version');
    expect(r.code).toBe(0);
    expect(r.out).toBe('0.1.0\n');
    expect(packages(r.modules)).toEqual(['commander']);
    const dist = r.modules.filter((m) => m.startsWith('dist/'));
    expect(dist).toContain('dist/cli/main.js');
    expect(dist.filter((m) => /-command\.js$/.test(m))).toEqual([]);
    expect(dist.filter((m) => /^dist\/(model\/system|trace\/system|replay|report|explore|import|generate|check|shrink)\b/.test(m))).toEqual(
      [],
    );
  });

  it('a --json replay loads the replay command alone: no other command, no cli-table3, uPlot, fzstd or pure-rand', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asid-replay-startup-'));
    const trace = join(dir, 'ten.csv');
    writeFileSync(
      trace,
      '# system: {"cpus":4,"asidBits":8}\ntime,event,cpu,task,mm\n100,fork,,1,A\n200,fork,,2,B\n300,schedule,0,1,\n400,schedule,1,2,\n500,exec,,2,C\n600,schedule,0,2,\n700,exit,,1,\n800,schedule,1,0,\n',
    );
    const r = loads('replay', trace, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).trace.events).toBe(8);
    const dist = r.modules.filter((m) => m.startsWith('dist/'));
    expect(dist.filter((m) => /-command\.js$/.test(m))).toEqual(['dist/cli/replay-command.js']);
    expect(
      dist.filter(
        (m) =>
          /^dist\/(explore|import|generate|check|shrink)\//.test(m) || /^dist\/report\/(html|pictures|perfetto|series|schema)\b/.test(m),
      ),
    ).toEqual([]);
    const pkgs = packages(r.modules);
    // zod neither: a valid # system: line is decided by src/trace/system-fast.ts (zod words the errors).
    for (const p of ['zod', 'cli-table3', 'uplot', 'fzstd', 'pure-rand', 'cli-progress', 'diff', 'microdiff', 'jsonc-parser'])
      expect(pkgs).not.toContain(p);
  });
});

describe('start-up: the bundle the launcher runs (dist/bundle/)', () => {
  const ours = (modules: string[]) => modules.filter((m) => m.startsWith('dist/'));

  it('--version runs the bundle: its two entries and their chunks, no command, nothing of dist/ outside it', () => {
    const r = loadsWith({}, '--version');
    expect([r.code, r.out]).toEqual([0, '0.1.0\n']);
    const dist = ours(r.modules);
    expect(dist).toContain('dist/bundle/main.js');
    expect(dist).toContain('dist/bundle/process.js');
    expect(dist.filter((m) => !m.startsWith('dist/bundle/'))).toEqual([]);
    expect(dist.filter((m) => /-command-[A-Z0-9]+\.js$/.test(m))).toEqual([]);
    expect(packages(r.modules)).toEqual(['commander']);
  });

  it("a --json replay loads the replay command's chunk and no other command's, and gives the modules' report", () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'asid-replay-startup-')), 'three.csv');
    writeFileSync(trace, 'time,event,cpu,task,mm\n100,fork,,1,A\n200,schedule,0,1,\n300,exit,,1,\n');
    const r = loadsWith({}, 'replay', trace, '--json');
    expect(r.code).toBe(0);
    const dist = ours(r.modules);
    expect(dist.filter((m) => !m.startsWith('dist/bundle/'))).toEqual([]);
    expect(dist.filter((m) => /-command-[A-Z0-9]+\.js$/.test(m)).map((m) => m.replace(/-[A-Z0-9]+\.js$/, ''))).toEqual([
      'dist/bundle/replay-command',
    ]);
    expect(JSON.parse(r.out).trace.events).toBe(3);
    expect(r.out).toBe(loads('replay', trace, '--json').out);
  });

  it('a bundle older than the last compile is not run: the modules are', () => {
    const info = join(ROOT, 'dist/.tsbuildinfo');
    const { atime, mtime } = statSync(info);
    const later = new Date(statSync(join(ROOT, 'dist/bundle/main.js')).mtimeMs + 60_000);
    try {
      utimesSync(info, later, later);
      const dist = ours(loadsWith({}, '--version').modules);
      expect(dist).toContain('dist/cli/main.js');
      expect(dist.filter((m) => m.startsWith('dist/bundle/'))).toEqual([]);
    } finally {
      utimesSync(info, atime, mtime);
    }
  });
});

describe('start-up: which commands a command line loads', () => {
  it('none for --version / -V first, the command named first, every command otherwise', () => {
    const all = Object.keys(COMMANDS);
    expect(all).toEqual(['replay', 'import', 'generate', 'check', 'explore', 'shrink', 'compare', 'schema']);
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V', 'replay'])).toEqual([]);
    expect(commandsFor(['replay', 'x.csv', '--version'])).toEqual(['replay']);
    expect(commandsFor(['check', 'traces'])).toEqual(['check']);
    for (const argv of [
      [],
      ['--help'],
      ['-h'],
      ['help'],
      ['help', 'replay'],
      ['replya'],
      ['--bogus', 'replay'],
      ['toString'],
      ['__proto__'],
    ])
      expect(commandsFor(argv), argv.join(' ')).toEqual(all);
  });

  it('--version with anything after it prints the version, as with every command loaded', async () => {
    for (const argv of [['--version'], ['-V'], ['--version', 'replay', 'x.csv'], ['-V', '--bogus']]) {
      const r = await cli(...argv);
      expect([r.code, r.out, r.err], argv.join(' ')).toEqual([0, '0.1.0\n', '']);
    }
  });

  it("each command's help (that command loaded alone) is the whole program's `help <command>`", async () => {
    for (const name of Object.keys(COMMANDS)) {
      const alone = await cli(name, '--help');
      const whole = await cli('help', name);
      expect(alone.code, name).toBe(0);
      expect(alone.out, name).toBe(whole.out);
      expect(alone.out, name).toContain(`Usage: asid-replay ${name}`);
    }
  });

  it('a command error names the command as the whole program does', async () => {
    const alone = await cli('replay', '--no-such-flag', 'x.csv');
    expect(alone.code).toBe(2);
    expect(alone.err).toBe("asid-replay: unknown option '--no-such-flag'\n(run with --help for usage)\n");
    const unknown = await cli('replya', 'x.csv');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'replya'");
    expect(unknown.err).toContain('replay');
  });
});
