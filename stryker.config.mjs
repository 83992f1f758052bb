// Mutation testing of the model (`npm run mutate`; docs/testing.md, "Mutation testing").
// Incremental: the previous result is reports/mutation/stryker-incremental.json (committed), so a
// rerun only tests the mutants of changed code and the mutants covered by changed tests.
import { appendFileSync } from 'node:fs';
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

// Words for people, not the model's answer: a finding's `detail`, the findings table's `meaning` and
// `property`, provenance (`source`, `sources`), the pin limit's `formula` and `reason`, and the message
// of a thrown error (its class, row and column are still mutated). Mutants there are "Ignored".
const TEXT_KEYS = new Set(['detail', 'meaning', 'property', 'source', 'sources', 'formula', 'reason']);
const TEXT_ERRORS = new Set(['Error', 'EventError']);
const keyName = (k) => (k.type === 'Identifier' ? k.name : k.type === 'StringLiteral' ? k.value : undefined);
const textIgnorer = {
  shouldIgnore(path) {
    const parent = path.parentPath;
    if (parent?.isObjectProperty() && parent.node.value === path.node && TEXT_KEYS.has(keyName(parent.node.key))) {
      return `text for people (${keyName(parent.node.key)})`;
    }
    if (parent?.isVariableDeclarator() && parent.node.init === path.node && TEXT_KEYS.has(keyName(parent.node.id))) {
      return `text for people (${keyName(parent.node.id)})`;
    }
    if (parent?.isNewExpression() && parent.node.arguments[0] === path.node) {
      const callee = parent.node.callee;
      if (callee.type === 'Identifier' && TEXT_ERRORS.has(callee.name)) return `text for people (${callee.name} message)`;
    }
    return undefined;
  },
};
// MUTATE_LIVE=<file> npm run mutate: each surviving or uncovered mutant is appended to <file> as it
// is found, to read survivors while a long run goes on.
const liveFile = process.env.MUTATE_LIVE;
const liveReporter = {
  onMutantTested(m) {
    if (!liveFile || (m.status !== 'Survived' && m.status !== 'NoCoverage')) return;
    const at = `${m.fileName}:${m.location.start.line}:${m.location.start.column + 1}`;
    appendFileSync(liveFile, `${m.status} ${at} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '')}\n`);
  },
};
export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'text', textIgnorer),
  declareValuePlugin(PluginKind.Reporter, 'live', liveReporter),
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate: ['src/model/**/*.ts'],
  appendPlugins: ['./stryker.config.mjs'],
  ignorers: ['text'],
  coverageAnalysis: 'perTest',
  // The mutate vitest config reuses one module graph across test files (isolate: false), which makes
  // a mutant run several times faster; a static mutant (module-level code, evaluated once at import)
  // would then never be switched on, so static mutants are left out (reported as Ignored).
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['html', 'json', 'clear-text', 'progress', 'live'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  concurrency: 2,
  // A mutant's time limit: timeoutFactor × the covering tests' time in the dry run + timeoutMS.
  timeoutMS: 3000,
  timeoutFactor: 1.25,
  thresholds: { high: 90, low: 85, break: null },
  // The sandbox copy needs the sources, the tests and the traces the tests read; not the build,
  // the benchmark output, the recordings or the previous reports.
  ignorePatterns: ['dist', 'bench-out', 'reports', 'traces/real/recordings', 'scratch', '*.tmp', '.stryker.tmp*'],
  tempDirName: '.stryker.tmp',
  cleanTempDir: true,
};
