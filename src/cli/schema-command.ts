/**
 * `asid-replay schema`: the JSON Schema (draft 2020-12) of the report `replay --json` prints and
 * `check` stores (schema asid-replay/report), generated from the zod schema of src/report/schema.ts.
 */
import type { Command } from 'commander';
import { REPORT_SCHEMA, REPORT_VERSION } from '../report/report.js';
import { renderJson } from '../report/render.js';
import type { Io } from './shared.js';

export function schemaCommand(program: Command, io: Io): void {
  program
    .command('schema')
    .description(
      `Print the JSON Schema (draft 2020-12) of the report that replay --json prints and check stores\n` +
        `(schema ${REPORT_SCHEMA}, version ${REPORT_VERSION}). Every field, with its unit: docs/report.md.`,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  asid-replay schema > report.schema.json\n' +
        '  asid-replay replay trace.csv --json > report.json   # validate report.json against report.schema.json',
    )
    .action(async () => {
      const { reportJsonSchema } = await import('../report/schema.js'); // zod's JSON Schema generator: loaded when used
      io.out(renderJson(reportJsonSchema()));
    });
}
