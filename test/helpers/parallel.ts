/** Shared by test/parallel-reader.test.ts and test/slow/parallel-reader.test.ts. */
import { expect } from 'vitest';
import { InputError } from '../../src/trace/errors.js';

export async function all(gen: AsyncGenerator<unknown[]>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of gen) out.push(...b);
  return out;
}

export async function failure(gen: AsyncGenerator<unknown[]>): Promise<string> {
  try {
    await all(gen);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).format();
  }
  throw new Error('expected an InputError');
}

/** Traces the two readers must refuse with the same first error. */
export const BAD: [string, string][] = [
  ['an unknown event', 'event,task,mm\nfork,1,P\nfork,2,Q\nfrok,3,R\nexit,1,\n'],
  ['a bad integer late in the file', `event,task,mm\n${'fork,1,P\nexit,1,\n'.repeat(20)}fork,0x,P\n`],
  [
    'decreasing times across chunks',
    `time,event,task\n${Array.from({ length: 30 }, (_, i) => `${i},fork,${i + 1}`).join('\n')}\n3,exit,1\n`,
  ],
  ['a quoted line break', 'event,task,mm\nfork,1,"P\nQ"\nexit,1,\n'],
  ['a short row', 'event,task,mm\nfork,1,P\nexit\n'],
  ['a bad header', 'event,tsak\nfork,1\n'],
];
