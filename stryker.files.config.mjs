// Mutation testing of a few files, without touching the committed report (docs/testing.md):
//   MUTATE_FILES=src/model/smmu/atc.ts,src/model/smmu/keys.ts npx stryker run stryker.files.config.mjs
// Same setup as stryker.config.mjs (tests, ignorers, timeouts), but not incremental, no report
// files (the clear-text table and MUTATE_LIVE only), its own sandbox directory (MUTATE_TMP, default
// .stryker.tmp-files) so that several such runs, and `npm run mutate`, can go on side by side.
import base, { strykerPlugins } from './stryker.config.mjs';

export { strykerPlugins };
const files = (process.env.MUTATE_FILES ?? '').split(',').filter(Boolean);
if (files.length === 0) throw new Error('MUTATE_FILES=<file>[,<file>...] names the files to mutate');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: files,
  incremental: false,
  reporters: ['clear-text', 'progress', 'live'],
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  tempDirName: process.env.MUTATE_TMP ?? '.stryker.tmp-files',
};
