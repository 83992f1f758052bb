/**
 * What every command shares: where the CLI writes, integer option parsing, the exit-status carrier.
 * (Its own module so that main.ts and the commands do not import each other.)
 */
import { InvalidArgumentError } from 'commander';
import type { SystemConfig } from '../model/config.js';
import { inertFaults } from '../model/faults.js';
import { stat } from 'node:fs/promises';
import { InputError } from '../trace/errors.js';
import { openOutput } from '../util/output.js';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether stderr is a terminal (progress output only then). */
  isTty: boolean;
}

export const processIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTty: Boolean(process.stderr.isTTY),
};

/** commander argument parser for a non-negative integer option (decimal or 0x hex). */
export function intArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
  return (v: string): number => {
    // A negative number is an integer, just out of range: say so rather than "must be an integer".
    if (/^-\s*(0x[0-9a-f]+|\d+)$/i.test(v)) throw new InvalidArgumentError(`${name} must be ${range}, got ${v} (a negative number)`);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new InvalidArgumentError(`${name} must be an integer ${range}, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be ${range}, got ${n}`);
    return n;
  };
}

/**
 * Fail now, before any work or progress output, when `path` cannot be written: its folder does not
 * exist or is not writable, or it is a folder itself (`-` is standard output: always fine).
 * @throws InputError naming the path.
 */
export async function checkWritable(path: string): Promise<void> {
  if (path === '-') return;
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new InputError('cannot write the output file: it is a folder', path);
  const probe = await openOutput(path); // the same checks and messages as the real write
  await probe.discard();
}

/** Exit status carried by a command's action. */
export class Exit extends Error {
  constructor(public code: number) {
    super(`exit ${code}`);
  }
}

/**
 * Say on stderr which injected faults cannot change anything on `system` and why (the run goes on:
 * the report is still the system's own).
 */
export function warnInertFaults(io: Io, system: SystemConfig, label = ''): void {
  for (const { fault, why } of inertFaults(system)) io.err(`asid-replay: warning: fault ${fault} cannot apply${label}: ${why}\n`);
}
