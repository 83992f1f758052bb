#!/usr/bin/env node
/**
 * The mutants a Stryker report left alive, one per line, to read beside the source:
 *   node scripts/survivors.mjs [report.json] [file-substring ...]
 * Default report: reports/mutation/mutation.json. Prints `status file:line:col mutator replacement`.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const report = args[0]?.endsWith('.json') ? args.shift() : 'reports/mutation/mutation.json';
const { files } = JSON.parse(readFileSync(report, 'utf8'));
for (const [file, { mutants }] of Object.entries(files)) {
  if (args.length > 0 && !args.some((a) => file.includes(a))) continue;
  for (const m of mutants) {
    if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
    const at = `${file}:${m.location.start.line}:${m.location.start.column}`;
    console.log(`${m.status} ${at} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '')}`);
  }
}
