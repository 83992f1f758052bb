/**
 * What every command shares: where the CLI writes, integer option parsing, the exit-status carrier.
 * (Its own module so that main.ts and the commands do not import each other.)
 */
import { InvalidArgumentError } from 'commander';
import type { SystemConfig } from '../model/config.js';
import { inertFaults } from '../model/faults.js';

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

/** commander argument parser for a non-negative integer option. */
export function intArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
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
