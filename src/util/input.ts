/**
 * Inputs that can be read only once — `-` (standard input), `/dev/stdin`, a pipe, a process
 * substitution `<(...)` — for the commands that read a trace several times (the preamble, the
 * events, then the lines that errors and findings name): such an input is copied once, streaming,
 * into a temporary file that is removed when the command ends (or on SIGINT/SIGTERM, as the
 * temporary output files are). Regular files and folders are used where they are.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError } from './errors.js';
import { forgetTemporaryFile, trackTemporaryFile } from './output.js';

/**
 * Names of this process's standard input. Opened by name they fail when standard input is a socket
 * (ENXIO: what spawn() with `input` and some CI runners give), so they are read from the stream.
 */
export const STDIN_NAMES: ReadonlySet<string> = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** An input ready to be read as often as needed. */
export interface ReadableInput {
  /** The path to read: the input itself, or its temporary copy. */
  path: string;
  /** The name messages give it: the argument as the user wrote it (`-`, `/dev/fd/63`, `trace.csv`). */
  name: string;
  /** Whether `path` is a temporary copy (the input could be read only once). */
  copied: boolean;
  /** Remove the temporary copy, if any. */
  dispose(): Promise<void>;
}

/** Whether `arg` names an input that can be read only once: `-`, or anything that is neither a file nor a folder. */
export async function isStream(arg: string): Promise<boolean> {
  if (arg === '-') return true;
  if (arg === '') return false;
  const st = await stat(arg).catch(() => undefined);
  return st !== undefined && !st.isFile() && !st.isDirectory();
}

/**
 * Make `arg` readable several times: `-` (standard input) and non-seekable inputs (FIFOs, character
 * devices such as `/dev/stdin` on a pipe, process substitution) are copied once to a temporary
 * file; anything else (a regular file, a folder, a missing path: the reader reports it) is returned
 * as it is.
 * @throws InputError naming `arg` when the input cannot be read.
 */
export async function readableInput(arg: string): Promise<ReadableInput> {
  if (!(await isStream(arg))) return { path: arg, name: arg, copied: false, dispose: async () => {} };
  const tmp = join(tmpdir(), `asid-replay-input-${process.pid}-${Math.random().toString(36).slice(2, 8)}.csv`);
  trackTemporaryFile(tmp);
  const dispose = async () => {
    await rm(tmp, { force: true });
    forgetTemporaryFile(tmp);
  };
  try {
    const source = STDIN_NAMES.has(arg) ? process.stdin : createReadStream(arg);
    await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
  } catch (e) {
    await dispose();
    throw new InputError(`cannot read: ${(e as Error).message}`, arg);
  }
  return { path: tmp, name: arg, copied: true, dispose };
}

/**
 * The whole text of a small input (a JSON file): a path, or standard input for `-` and its other
 * names (read from the stream: opening `/dev/stdin` fails on a socket).
 * @throws the error of the read (ENOENT, ...), for the caller to name the input.
 */
export async function readInputText(arg: string): Promise<string> {
  if (!STDIN_NAMES.has(arg)) return readFile(arg, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
