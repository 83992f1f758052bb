/**
 * The system object decided without zod (src/trace/system-fast.ts) against its definition, the zod
 * schema (src/trace/system.ts): on every input the fast path decides, the same output, key order
 * included (reports print it); every input zod refuses, the fast path declines. And it decides the
 * system lines of the shipped traces, or it would save nothing.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSystemFast } from '../src/trace/system-fast.js';
import { systemSchemas } from '../src/trace/system.js';
import { ALLOCATOR_VARIANTS } from '../src/model/cpu/variants.js';
import { FAULTS, PASID_ALLOCATORS } from '../src/model/config.js';
import { DRIVER_DESIGNS } from '../src/model/kernel/eras.js';
import { findTraces } from '../src/check/corpus.js';

/** zod's answer: the parsed object, or 'refused'. */
function zod(input: unknown): unknown {
  const r = systemSchemas().SystemSchema.safeParse(input);
  return r.success ? r.data : 'refused';
}

function agree(input: unknown): void {
  const fast = parseSystemFast(input);
  const want = zod(input);
  if (fast === undefined) return; // declined: zod decides (and words the error)
  expect(want, JSON.stringify(input)).not.toBe('refused');
  expect(JSON.stringify(fast)).toBe(JSON.stringify(want)); // values and key order
  expect(fast).toStrictEqual(want);
}

// Values around every rule's boundary, and of every wrong type.
const anyValue = fc.oneof(
  fc.constantFrom(undefined, null, true, false, '', 'x', [], {}, 0, -1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 21, 4096, 4097, 1.5, NaN),
  fc.constantFrom(2 ** 53, 2 ** 53 - 1, -0, Infinity, '8', [8]),
  fc.integer({ min: -5, max: 5000 }),
);
const kernelValue = fc.constantFrom('5.10', '6.1', '6.6', '7.0', '4.19', 'rfc-btm-2023', '9.9', 'v6.1', 6.1, '');
const nameValue = fc.constantFrom('smmu0', 'smmu1', 'dev0', 'a/b:c', 'bad name', '', 'é', 7);
const smmu = fc.record(
  {
    name: nameValue,
    asidBits: anyValue,
    vmidBits: anyValue,
    btm: anyValue,
    ssidBits: anyValue,
    rangeInvalidation: anyValue,
    extra: anyValue,
  },
  { requiredKeys: ['name'] },
);
const device = fc.record(
  {
    name: nameValue,
    smmu: nameValue,
    pasidBits: anyValue,
    streamIds: fc.oneof(fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }), anyValue),
    ats: anyValue,
  },
  { requiredKeys: ['name', 'smmu'] },
);
const system = fc.record(
  {
    cpus: anyValue,
    asidBits: anyValue,
    kernel: kernelValue,
    kpti: anyValue,
    unmapKernelAtEl0: anyValue,
    allocator: fc.oneof(fc.constantFrom(...ALLOCATOR_VARIANTS), anyValue),
    driver: fc.oneof(fc.constantFrom(...DRIVER_DESIGNS), anyValue),
    smmus: fc.oneof(fc.array(smmu, { maxLength: 3 }), anyValue),
    devices: fc.oneof(fc.array(device, { maxLength: 3 }), anyValue),
    whatIf: anyValue,
    maxPinnedAsids: anyValue,
    pasidAllocator: fc.oneof(fc.constantFrom(...PASID_ALLOCATORS), anyValue),
    multiSmmuDomains: anyValue,
    faults: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...FAULTS), anyValue), { maxLength: 3 }), anyValue),
    bogus: anyValue,
  },
  { requiredKeys: [] },
);
// Valid-looking systems (right types, values near the limits), so that the fast path decides often.
const bit = fc.constantFrom(2, 3, 7, 8, 16);
const likely = fc.record(
  {
    cpus: fc.integer({ min: 0, max: 4097 }),
    asidBits: bit,
    kernel: kernelValue,
    kpti: fc.boolean(),
    unmapKernelAtEl0: fc.boolean(),
    whatIf: fc.boolean(),
    maxPinnedAsids: fc.integer({ min: -1, max: 300 }),
    faults: fc.array(fc.constantFrom(...FAULTS), { maxLength: 2 }),
    smmus: fc.array(
      fc.record({ name: fc.constantFrom('s0', 's1'), asidBits: fc.constantFrom(8, 16), btm: fc.boolean() }, { requiredKeys: ['name'] }),
      { maxLength: 2 },
    ),
    devices: fc.array(
      fc.record(
        {
          name: fc.constantFrom('d0', 'd1'),
          smmu: fc.constantFrom('s0', 's1'),
          streamIds: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
        },
        { requiredKeys: ['name', 'smmu'] },
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

describe('the system object without zod', () => {
  it('agrees with the zod schema on random objects of every shape', () => {
    fc.assert(
      fc.property(system, (s) => agree(s)),
      { numRuns: 1000, seed: 20261204 },
    );
  });

  it('agrees on valid-looking systems, and decides most of those zod accepts', () => {
    let accepted = 0;
    let decided = 0;
    const declined: unknown[] = [];
    fc.assert(
      fc.property(likely, (s) => {
        agree(s);
        if (zod(s) !== 'refused') {
          accepted++;
          if (parseSystemFast(s) !== undefined) decided++;
          else declined.push(s);
        }
      }),
      { numRuns: 1000, seed: 20261205 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(declined.slice(0, 3)).toEqual([]); // every valid object of these shapes is decided without zod
    expect(decided).toBe(accepted);
  });

  it('each rule on both sides: decided when valid, declined (zod words it) when not', () => {
    const cases: [object, boolean][] = [
      [{}, true],
      [{ cpus: 4096 }, true],
      [{ cpus: 4097 }, false],
      [{ cpus: 0 }, false],
      [{ asidBits: 8 }, true],
      [{ asidBits: 7 }, false],
      [{ asidBits: 7, whatIf: true }, true],
      [{ asidBits: 2, whatIf: true, kpti: true }, false],
      [{ asidBits: 3, whatIf: true, kpti: true }, true],
      [{ kpti: true, unmapKernelAtEl0: false }, false],
      [{ kernel: '9.9' }, false],
      [{ kernel: '6.1' }, true],
      [{ smmus: [{ name: 's' }, { name: 's' }] }, false],
      [{ smmus: [{ name: 's' }], devices: [{ name: 'd', smmu: 't' }] }, false],
      [{ smmus: [{ name: 's' }], devices: [{ name: 'd', smmu: 's' }] }, true],
      [
        {
          smmus: [{ name: 's' }],
          devices: [
            { name: 'd', smmu: 's' },
            { name: 'd', smmu: 's' },
          ],
        },
        false,
      ],
      [
        {
          smmus: [{ name: 's' }],
          devices: [
            { name: 'd', smmu: 's', streamIds: [1] },
            { name: 'e', smmu: 's', streamIds: [1] },
          ],
        },
        false,
      ],
      [
        {
          smmus: [{ name: 's' }],
          devices: [
            { name: 'd', smmu: 's', streamIds: [1] },
            { name: 'e', smmu: 's', streamIds: [2] },
          ],
        },
        true,
      ],
      [{ faults: ['no-dvm'] }, true],
      [{ faults: ['nope'] }, false],
      [{ maxPinnedAsids: 0 }, true],
      [{ maxPinnedAsids: -1 }, false],
      [{ nope: 1 }, false],
    ];
    for (const [input, valid] of cases) {
      expect(zod(input) !== 'refused', JSON.stringify(input)).toBe(valid);
      expect(parseSystemFast(input) !== undefined, JSON.stringify(input)).toBe(valid);
      agree(input);
    }
  });

  it('decides the system line of every shipped trace', async () => {
    let lines = 0;
    for (const f of await findTraces(['traces'])) {
      const line = readFileSync(f, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('# system:'));
      if (line === undefined) continue;
      const obj = JSON.parse(line.slice('# system:'.length));
      lines++;
      expect(parseSystemFast(obj), f).toBeDefined();
      agree(obj);
    }
    expect(lines).toBeGreaterThan(20);
  });
});
