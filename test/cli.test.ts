/**
 * The command line end to end: README's main command, the JSON contract, determinism, exit codes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const JUNO = 'traces/real/juno-trace-txt.csv';
const V1 = 'traces/scenarios/pin-v1-ordering-bug.csv';

describe('replay', () => {
  it('prints the churn, pins and violations tables for a real Juno trace', async () => {
    const r = await cli('replay', JUNO);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    for (const s of [
      'ASID churn',
      'switch_mm (mm changed)',
      'pins (arm64_mm_context_get)',
      '65536 available - 6 CPUs - 2 = 65528',
      'violations: none',
    ]) {
      expect(r.out).toContain(s);
    }
  });

  it('--json holds the contract fields and is byte-identical across runs', async () => {
    const a = await cli('replay', JUNO, '--json', '--asid-bits', '8');
    const b = await cli('replay', JUNO, '--json', '--asid-bits', '8');
    expect(a.out).toBe(b.out);
    const r = JSON.parse(a.out);
    expect(r).toMatchObject({ schema: 'asid-replay/report', version: 3 });
    expect(r.system).toMatchObject({ cpus: 6, asidBits: 8, allocator: 'v5.10' });
    for (const k of ['rollovers', 'allocations', 'localTlbFlushes']) expect(typeof r.churn[k]).toBe('number');
    expect(r.pins.limit).toBe(256 - 6 - 2);
    expect(r.pins.failures).toBe(0);
    expect(Array.isArray(r.violations)).toBe(true);
  });

  it('flags override the preamble: KPTI halves the ASID space and the pin limit', async () => {
    const r = JSON.parse((await cli('replay', JUNO, '--json', '--kpti', '--asid-bits', '8')).out);
    expect(r.allocator.numAsids).toBe(128);
    expect(r.pins.limit).toBe(128 - 6 - 2);
  });

  it('--fail-on: exit 1 only for the selected findings', async () => {
    const bug = await cli('replay', V1, '--fail-on', 'violations');
    expect(bug.code).toBe(1);
    expect(bug.out).toContain('active-asid-mismatch');
    expect((await cli('replay', V1, '--fail-on', 'pin-failures')).code).toBe(0);
    expect((await cli('replay', V1, '--fail-on', 'stale-tlb')).code).toBe(1);
    expect((await cli('replay', V1, '--fail-on', 'violations', '--allocator', 'v5.10')).code).toBe(0);
    expect((await cli('replay', V1, '--fail-on', 'pin-failures', '--allocator', 'v4.19')).code).toBe(1);
  });

  it('--help teaches the invariants and the exit codes', async () => {
    const r = await cli('replay', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('tlb-alias');
    expect(r.out).toContain('--allocator');
    const top = await cli('--help');
    expect(top.out).toContain('Exit codes');
  });
});

describe('the installed executable', () => {
  it.skipIf(!existsSync('dist/cli/main.js'))(
    'bin/asid-replay.js runs the compiled CLI (skipped only when dist/ is not built; npm test builds it)',
    () => {
      const out = execFileSync(process.execPath, ['bin/asid-replay.js', 'replay', JUNO, '--json'], { encoding: 'utf8' });
      expect(JSON.parse(out).trace.name).toBe('juno-trace-txt.csv');
      let code = 0;
      try {
        execFileSync(process.execPath, ['bin/asid-replay.js', 'replay', 'nope.csv'], { stdio: 'pipe' });
      } catch (e) {
        code = (e as { status: number }).status;
      }
      expect(code).toBe(2);
    },
  );
});
