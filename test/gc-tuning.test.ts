// Which commands the entry point tunes V8's collector for at start-up (src/cli/process.ts): the
// streaming ones; not the searches, whose heaps hold millions of states; not replay, which decides
// from its input's size; not a bare --version or --help. And when a long replay stops its young
// generation growing.
import { describe, expect, it } from 'vitest';
import { YOUNG_GENERATION_EVENTS, freezeYoungGenerationAfter, tunesAtStart } from '../src/cli/process.js';

describe('tunesAtStart', () => {
  it.each([
    [['check', 'traces'], true],
    [['import', 'x.dat', '-o', 'y.csv'], true],
    [['compare', 'x.csv', '--kernel', '6.1,6.11'], true],
    [['generate', 'kernel-build', '-n', '10'], true],
    [['--json', 'check', 'traces'], true],
    [['explore'], false],
    [['shrink', 'x.csv'], false],
    [['replay', 'x.csv'], false],
    [['--version'], false],
    [['--help'], false],
    [[], false],
  ])('%j -> %s', (argv, want) => {
    expect(tunesAtStart(argv)).toBe(want);
  });
});

describe('freezeYoungGenerationAfter', () => {
  it('freezes once, at the first count of the threshold or more, never before', () => {
    let calls = 0;
    const hook = freezeYoungGenerationAfter(YOUNG_GENERATION_EVENTS, () => calls++);
    for (const n of [100_000, 500_000, YOUNG_GENERATION_EVENTS - 1]) hook(n);
    expect(calls).toBe(0);
    hook(YOUNG_GENERATION_EVENTS);
    expect(calls).toBe(1);
    hook(YOUNG_GENERATION_EVENTS + 100_000);
    hook(5 * YOUNG_GENERATION_EVENTS);
    expect(calls).toBe(1);
  });

  it('freezes at a count past the threshold when none lands on it (progress comes per batch)', () => {
    let calls = 0;
    const hook = freezeYoungGenerationAfter(1_000_000, () => calls++);
    hook(911_625);
    expect(calls).toBe(0);
    hook(1_013_407);
    expect(calls).toBe(1);
  });
});
