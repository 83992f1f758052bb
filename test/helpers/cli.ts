/** Run the CLI in-process and capture its output and exit status. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), isTty: false });
  return { code, out, err };
}

/** A fresh temporary directory. */
export const tmp = (): string => mkdtempSync(join(tmpdir(), 'asid-replay-'));

/** Write `text` to a new temporary file and return its path. */
export function tmpFile(text: string, name = 'trace.csv'): string {
  const p = join(tmp(), name);
  writeFileSync(p, text);
  return p;
}
