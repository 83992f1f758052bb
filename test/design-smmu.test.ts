/**
 * The SMMUv3/SVA parts of the design API (docs/designs.md, "The SMMUv3 driver and SVA"): a design
 * that replaces every one with a call of its base changes no answer of the corpus's device traces
 * (the guards accept every result the model's own parts give), and a replacement that returns the
 * wrong thing or breaks the state's types ends with a DesignError at the design's file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesignError } from '../src/design/compose.js';
import { loadDesign } from '../src/design/load.js';
import { PART_NAMES } from '../src/model/kernel/parts.js';
import { SMMU_PARTS } from '../src/model/smmu/index.js';
import { replayFile } from '../src/replay/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'design-smmu-'));
let n = 0;
async function designFile(text: string) {
  const f = join(dir, `d${n++}.mjs`);
  writeFileSync(f, text);
  return loadDesign(f);
}

const SMMU_NAMES = Object.keys(SMMU_PARTS);
/** Device traces of the corpus, on their own systems (kernels and drivers of every SVA era). */
const TRACES = [
  'traces/generated/sva-btm.csv',
  'traces/generated/dma-collide.csv',
  'traces/generated/hetero-smmu.csv',
  'traces/kernel-bugs/asid-move-race.6.10.csv',
  'traces/kernel-bugs/notifier-size-range.5.17.csv',
  'traces/kernel-bugs/tg-bug.6.14.csv',
  'traces/kernel-bugs/pasid-top.6.3.csv',
  'traces/kernel-bugs/perm-upgrade.6.6.csv',
];

describe('SMMU parts: names', () => {
  it('every SMMU part is a part name', () => {
    expect(SMMU_NAMES.length).toBe(25);
    for (const k of SMMU_NAMES) expect(PART_NAMES).toContain(k);
  });
  it('docs/designs.md has a row for every part, in PART_NAMES order', () => {
    const doc = readFileSync('docs/designs.md', 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_0-9]+)\(/gm)].map((m) => m[1]);
    expect(rows).toEqual([...PART_NAMES]);
  });
});

describe('a design that calls its base for every SMMU part changes nothing', () => {
  it.each(TRACES)('%s: the same report', async (trace) => {
    const parts = SMMU_NAMES.map((k) => `  ${k}: (base) => (...a) => base(...a),`).join('\n');
    const d = await designFile(`export default { name: 'same', parts: {\n${parts}\n} };`);
    expect(d.replaced).toEqual(SMMU_NAMES);
    const plain = await replayFile(trace, { parseThreads: 0 });
    const designed = await replayFile(trace, { parseThreads: 0, parts: d.parts });
    expect(designed).toEqual(plain);
  });
});

describe('an SMMU part that goes wrong', () => {
  const trace = 'traces/kernel-bugs/asid-move-race.6.10.csv';
  const failure = async (text: string): Promise<DesignError> => {
    const d = await designFile(text);
    try {
      await replayFile(trace, { parseThreads: 0, parts: d.parts });
    } catch (e) {
      return e as DesignError;
    }
    throw new Error('expected a DesignError');
  };

  it('a result of the wrong type: named, with what was expected', async () => {
    const e = await failure(`export default { name: 'x', parts: {\n  arm_smmu_tlb_inv_asid: () => () => 3,\n} };`);
    expect(e).toBeInstanceOf(DesignError);
    expect(e.message).toMatch(/arm_smmu_tlb_inv_asid returned 3; expected nothing \(undefined\)/);
    expect(e.line).toBe(2);
  });

  it('arm_smmu_alloc_shared_cd: a bare ASID is not { asid, pinned }', async () => {
    const e = await failure(`export default { name: 'x', parts: {\n  arm_smmu_alloc_shared_cd: () => () => 5,\n} };`);
    expect(e.message).toMatch(/arm_smmu_alloc_shared_cd returned 5; expected null \(-ESRCH\) or \{ asid, pinned \}/);
  });

  it('a state left with a field of the wrong type', async () => {
    const e = await failure(
      `export default { name: 'x', parts: {\n  arm_smmu_attach_dev: (base) => (c, ...a) => { base(c, ...a); c.st.domains = {}; },\n} };`,
    );
    expect(e.message).toMatch(/arm_smmu_attach_dev left the state broken: c\.st\.domains is a Object, not a Map/);
  });

  it('an exception: named, at the design file', async () => {
    const e = await failure(
      `export default { name: 'x', parts: {\n  iommu_sva_bind_device: () => () => {\n    throw new RangeError('no');\n  },\n} };`,
    );
    expect(e.message).toMatch(/iommu_sva_bind_device \(running\): RangeError: no/);
    // The line as Node numbers it is tested through the process in test/design.test.ts (vitest
    // transforms the file it imports).
    expect(e.file).toMatch(/d\d+\.mjs$/);
  });
});
