/**
 * A new event kind without its handling fails the type check (`npm run test:slow`: a compiler run
 * over src/, about a minute). The compiler reads src/ as it is, except model/events.ts, which gets
 * one more kind, `flush`, and nothing else: the build must then fail in the step's switch, in the
 * event tables (columns, documentation, effects) and in explore's alphabet.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

describe('an event kind added to EVENT_KINDS alone', () => {
  it('fails tsc in step(), the event tables and the explore alphabet', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      resolve('tsconfig.build.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    )!;
    const events = resolve('src/model/events.ts');
    const patched = readFileSync(events, 'utf8').replace("  'resume',\n] as const;", "  'resume',\n  'flush',\n] as const;");
    expect(patched).toContain("'flush'");
    const host = ts.createCompilerHost({ ...config.options, noEmit: true, composite: false, incremental: false });
    const read = host.readFile.bind(host);
    host.readFile = (f) => (resolve(f) === events ? patched : read(f));
    const program = ts.createProgram({
      rootNames: config.fileNames,
      options: { ...config.options, noEmit: true, composite: false, incremental: false },
      host,
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) => `${d.file ? d.file.fileName.replace(`${resolve('.')}/`, '') : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      );
    const files = new Set(errors.map((e) => e.split(':')[0]));
    expect(files).toContain('src/model/system.ts'); // step's default: unhandledKind(e: never)
    expect(files).toContain('src/model/events.ts'); // EVENT_TABLE, EVENT_DOCS, EVENT_EFFECTS: satisfies Record<EventKind, ...>
    expect(files).toContain('src/explore/kinds.ts'); // ALPHABET_COMPLETE
    expect(errors.filter((e) => e.startsWith('src/model/events.ts')).length).toBeGreaterThanOrEqual(3);
  }, 300_000);
});
