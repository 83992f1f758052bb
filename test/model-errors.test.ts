/**
 * An event the state makes impossible is an EventError naming the row and the column at fault
 * (the CLI prints `file:line:column`): the column is part of the model's answer to a bad trace.
 */
import { describe, expect, it } from 'vitest';
import { EventError } from '../src/model/errors.js';
import { PROT_READ, PROT_WRITE, protName } from '../src/model/events.js';
import { createSystem, step } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

const smmuSystem: SystemInput = { kernel: '6.1', smmus: [{ name: 'smmu0', asidBits: 16 }], devices: [{ name: 'dev', smmu: 'smmu0' }] };

/** [row, column] of the EventError the story throws (its last line is the bad one). */
function fault(text: string, system: SystemInput = {}): [number, string | undefined] {
  const m = createSystem(resolveSystem({ cpus: 2, asidBits: 8, unmapKernelAtEl0: false, ...system }, {}));
  const col = new ReportCollector(m.config.smmus.length);
  try {
    for (const e of mini(text)) step(m, e, col);
  } catch (e) {
    if (e instanceof EventError) return [e.row, e.field];
    throw e;
  }
  throw new Error('no EventError');
}

describe('CPU-side events impossible in the state', () => {
  it.each([
    ['fork 0', 1, 'task'], // the idle task
    ['fork 1\nfork 1', 2, 'task'], // already alive
    ['exec 9', 1, 'task'], // not alive
    ['fork 1 A\nfork 2 B\nexec 1 B', 3, 'mm'], // exec needs a fresh mm
    ['exit 9', 1, 'task'],
    ['fork 1\nsched 2 1', 2, 'cpu'], // 2 CPUs: 0 and 1
    ['sched 0 9', 1, 'task'],
    ['access 1 0x1000', 1, 'cpu'], // CPU1 runs no user task
    ['fork 1\nsched 0 1\naccess 2 0x1000', 3, 'cpu'],
    ['map X 0x1000 0x1000', 1, 'mm'],
    ['fork 1 P\nmap P 0x1000 0', 2, 'size'], // an empty range
    ['fork 1 P\nunmap P 0x1000 0', 2, 'size'],
    ['unpin X', 1, 'mm'],
    ['pin X', 1, 'mm'],
  ] as const)('%j: row %i, column %s', (text, row, column) => {
    expect(fault(text)).toEqual([row, column]);
  });
});

describe('SMMU-side events impossible in the state', () => {
  it.each([
    ['resume nope', 1, 'op'], // no operation with that label
    ['detach dev', 1, 'device'], // no domain attached
    ['dunmap nodom 0x1000 0x1000', 1, 'domain'], // no such domain
    ['bind dev X', 1, 'mm'], // no such mm
    ['fork 1 P\nunbind dev P', 2, 'mm'], // not bound
    ['fork 1 P\nfork 2 Q\nbind dev P 1 op1\nbind dev Q 2 op1', 4, 'op'], // a label names one operation
  ] as const)('%j: row %i, column %s', (text, row, column) => {
    expect(fault(text, smmuSystem)).toEqual([row, column]);
  });
});

describe('names', () => {
  it('EventError names itself', () => {
    expect(new EventError('m', 3, 'cpu')).toMatchObject({ name: 'EventError', message: 'm', row: 3, field: 'cpu' });
  });

  it('protName spells the PROT bits', () => {
    expect([0, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE].map(protName)).toEqual(['none', 'r', 'w', 'rw']);
  });
});
