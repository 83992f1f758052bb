// Which commands the entry point tunes V8's collector for at start-up (src/cli/process.ts): the
// streaming ones; not the searches, whose heaps hold millions of states; not replay, which decides
// from its input's size; not a bare --version or --help.
import { describe, expect, it } from 'vitest';
import { tunesAtStart } from '../src/cli/process.js';

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
