/**
 * The design API (docs/designs.md): a patch written as a file replaces kernel functions of the
 * model. The example examples/designs/pin-before-reserved.mjs brings back the 2018 pin ordering bug
 * (new_context tests `pinned` before check_update_reserved_asid: "[PATCH v2 16/40] arm64: mm: Pin
 * down ASIDs for sharing mm with devices", v1->v2 note) as a patch on v5.10; a design that goes
 * wrong ends with an error at its own file and line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDesign } from '../src/design/load.js';
import { DesignError } from '../src/design/compose.js';
import { loadDesignFlag } from '../src/cli/design-flag.js';
import { createSystem, digestSystem, step } from '../src/model/system.js';
import type { KernelParts } from '../src/model/kernel/parts.js';
import { FindingRecorder } from '../src/shrink/recorder.js';
import { PROT_CELLS, type TraceEvent } from '../src/trace/events.js';
import { resolveSystem } from '../src/trace/system.js';
import { spawnSync } from 'node:child_process';

/** The events of a plain trace v1 file (no quotes), rows as line numbers. */
function csvEvents(file: string): TraceEvent[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const h = lines.findIndex((l) => l.startsWith('event,') || l.startsWith('time,'));
  const cols = lines[h]!.split(',');
  const out: TraceEvent[] = [];
  for (let i = h + 1; i < lines.length; i++) {
    if (!lines[i]!.trim() || lines[i]!.startsWith('#')) continue;
    const cells = lines[i]!.split(',');
    const e: Record<string, unknown> = { row: i + 1 };
    cols.forEach((c, j) => {
      const v = cells[j];
      if (v === undefined || v === '') return;
      if (c === 'event') e.kind = v;
      else if (c === 'mm' || c === 'device' || c === 'domain' || c === 'op') e[c] = v;
      else if (c === 'prot') e.prot = PROT_CELLS[v];
      else e[c] = Number(v);
    });
    out.push(e as unknown as TraceEvent);
  }
  return out;
}

const PIN_TRACE = 'traces/kernel-bugs/pin-ordering.pin-v1.csv';
const SYS = resolveSystem({ cpus: 2, asidBits: 3, whatIf: true, unmapKernelAtEl0: false, kernel: '5.10' }, {});

function findings(events: TraceEvent[], parts?: KernelParts, sys = SYS): { kind: string; row: number }[] {
  const m = createSystem(sys, parts);
  const obs = new FindingRecorder(0, null);
  for (const e of events) step(m, e, obs);
  return obs.found.map(({ kind, row }) => ({ kind, row }));
}

describe('examples/designs/pin-before-reserved.mjs', () => {
  it('loads: its name, base and the one part it replaces', async () => {
    const d = await loadDesign('examples/designs/pin-before-reserved.mjs');
    expect([d.name, d.base, d.replaced]).toEqual(['pin-before-reserved', '5.10', ['new_context']]);
    expect(d.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('brings the 2018 bug back on v5.10: the pin-v1 counterexample is an active-asid-mismatch with the design, clean without', async () => {
    const d = await loadDesign('examples/designs/pin-before-reserved.mjs');
    const events = csvEvents(PIN_TRACE);
    // The trace's header: pin-v1 -> active-asid-mismatch at the second "schedule 1 11".
    const pinV1 = findings(events, undefined, resolveSystem({ ...SYS_INPUT, allocator: 'pin-v1' }, {}));
    const withDesign = findings(events, d.parts);
    expect(withDesign[0]?.kind).toBe('active-asid-mismatch');
    expect(withDesign[0]?.row).toBe(pinV1[0]?.row);
    expect(findings(events)).toEqual([]);
  });
});
const SYS_INPUT = { cpus: 2, asidBits: 3, whatIf: true, unmapKernelAtEl0: false, kernel: '5.10' } as const;

describe('a design that calls its base everywhere changes nothing', () => {
  it('same state digest after every event of a corpus trace', async () => {
    const d = await designFile(`export default { name: 'same', base: '5.10', parts: {
      new_context: (base) => (p, s, mm, n) => base(p, s, mm, n),
      check_and_switch_context: (base) => base,
      flush_context: (base) => (p, s) => base(p, s),
      arm64_mm_context_get: (base) => base,
      arm64_mm_context_put: (base) => base,
      check_update_reserved_asid: (base) => base,
    } };`);
    const events = csvEvents(PIN_TRACE);
    const a = createSystem(SYS);
    const b = createSystem(SYS, d.parts);
    const oa = new FindingRecorder(0, null);
    const ob = new FindingRecorder(0, null);
    for (const e of events) {
      step(a, e, oa);
      step(b, e, ob);
      expect(digestSystem(b)).toBe(digestSystem(a));
    }
  });
});

const dir = mkdtempSync(join(tmpdir(), 'asid-replay-design-'));
let n = 0;
async function designFile(text: string) {
  const f = join(dir, `d${n++}.mjs`);
  writeFileSync(f, text);
  return loadDesign(f);
}
/** The error of loading or running `text` (as a design on the pin trace). */
async function failure(text: string): Promise<DesignError> {
  try {
    const d = await designFile(text);
    findings(csvEvents(PIN_TRACE), d.parts);
  } catch (e) {
    return e as DesignError;
  }
  throw new Error('expected a DesignError');
}

describe('a design that goes wrong: exit 2 at its file and line', () => {
  it('an exception in a part: the line that threw', async () => {
    const e = await failure(`export default { name: 'x', base: '5.10', parts: {
  new_context: (base) => (p, s, mm, n) => {
    throw new RangeError('boom');
  },
} };`);
    expect(e).toBeInstanceOf(DesignError);
    expect(e.message).toMatch(/new_context \(running\): RangeError: boom/);
    expect(e.file).toMatch(/d\d+\.mjs$/);
    // The line as Node numbers it: the process test below (vitest transforms the file it imports).
  });

  it('a result of the wrong type, and a state left with a field of the wrong type', async () => {
    const wrongResult = await failure(`export default { name: 'x', base: '5.10', parts: {
  new_context: () => () => 'seven',
} };`);
    expect(wrongResult.message).toMatch(/new_context returned string "seven"; expected a context id/);
    expect(wrongResult.line).toBe(2);
    const broken = await failure(`export default { name: 'x', base: '5.10', parts: {

  new_context: (base) => (p, s, mm, n) => { const r = base(p, s, mm, n); s.asidMap = []; return r; },
} };`);
    expect(broken.message).toMatch(/new_context left the state broken: s\.asidMap is a Array, not a Uint8Array of 8 entries/);
    expect(broken.line).toBe(3);
  });

  it('a file that is not a design', async () => {
    expect((await failure(`export default { name: 'x', base: '5.10', parts: { new_contxt: (b) => b } };`)).message).toMatch(
      /parts\.new_contxt is not a part; the parts are check_and_switch_context, new_context/,
    );
    expect((await failure(`export const x = 1;`)).message).toMatch(/no default export/);
    expect((await failure(`export default { name: 'x', base: '5.10', parts: { new_context: 3 } };`)).message).toMatch(
      /parts\.new_context must be a function/,
    );
    const missing = (await loadDesign(join(dir, 'none.mjs')).catch((e: unknown) => e)) as DesignError;
    expect(missing.message).toBe('no such design file');
  });

  it('--kernel must be the base, and the base a release', async () => {
    const f = join(dir, 'base.mjs');
    writeFileSync(f, `export default { name: 'x', base: '5.10', parts: {} };`);
    const o: { design: string; kernel?: string } = { design: f };
    await loadDesignFlag(o);
    expect(o.kernel).toBe('5.10');
    await expect(loadDesignFlag({ design: f, kernel: '5.10.3' })).resolves.toBeDefined();
    await expect(loadDesignFlag({ design: f, kernel: '6.1' })).rejects.toThrow(/--kernel 6.1 is not the design's base \(5.10\)/);
    const g = join(dir, 'bad-base.mjs');
    writeFileSync(g, `export default { name: 'x', base: '5.99', parts: {} };`);
    await expect(loadDesignFlag({ design: g })).rejects.toThrow(/the design's base "5.99" is not a kernel this tool models/);
  });
});

describe('the command line: a design error is exit 2 at the design file:line, no stack trace', () => {
  // A real process (bin/ on dist/): Node numbers the design's lines (vitest would transform the file).
  const explore = (f: string) => {
    const argv = ['explore', '--design', f, '--cpus', '2', '--asid-bits', '2', '--max-states', '200', '--strategy', 'bfs', '--json'];
    const r = spawnSync(process.execPath, ['bin/asid-replay.js', ...argv], { encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr };
  };
  it('an exception thrown by a part: its line and column', () => {
    const f = join(dir, 'throws.mjs');
    writeFileSync(
      f,
      `export default { name: 'x', base: '5.10', parts: {\n  new_context: () => () => {\n    throw new RangeError('boom');\n  },\n} };\n`,
    );
    const r = explore(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`asid-replay: ${f}:3:11: new_context (running): RangeError: boom\n`);
  });
  it('a syntax error: its line', () => {
    const f = join(dir, 'syntax.mjs');
    writeFileSync(f, `export default {\n  name: 'x',\n  base: '5.10' parts: {} };\n`);
    const r = explore(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^asid-replay: ${f.replace(/[.]/g, '\\.')}:3: cannot load the design: SyntaxError: Unexpected identifier 'parts'\n$`),
    );
  });
});
