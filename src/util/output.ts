/**
 * The one output layer of every command: `-` is standard output; a file is written to a
 * temporary file beside it and renamed over it when complete (rename(2) is atomic within a
 * folder, so an interrupted run leaves the old file or the new one, never half of one).
 *
 * Temporary files in flight are remembered so that SIGINT/SIGTERM (see `cli/process.ts`) can remove
 * them before the process ends. An output path that cannot be written is an {@link InputError}
 * naming the path (exit 2), found before any work is done.
 */
import { accessSync, constants, createWriteStream, openSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { InputError } from './errors.js';

/** Temporary files not yet renamed or removed. */
const inFlight = new Set<string>();

/** Remember a temporary file made elsewhere (util/input.ts) so that a signal removes it too. */
export function trackTemporaryFile(path: string): void {
  inFlight.add(path);
}

/** Forget a temporary file that was removed. */
export function forgetTemporaryFile(path: string): void {
  inFlight.delete(path);
}

/** Remove every temporary file still in flight (synchronous: safe in a signal handler). */
export function removeTemporaryFiles(): void {
  for (const t of inFlight) rmSync(t, { force: true });
  inFlight.clear();
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such folder',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

/** An InputError for an output path that cannot be written (exit 2, names the path). */
export function unwritable(path: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  return new InputError(
    `cannot write the output file: ${REASONS[code] ?? (e as Error)?.message ?? String(e)}${code ? ` (${code})` : ''}`,
    path,
  );
}

/** Whether `e` is the error of a write to a pipe whose reader has gone (`... | head`). */
export const isClosedPipe = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'EPIPE';

/** An opened output: write to `stream`, then `commit()` (or `discard()` on failure). */
export interface Output {
  readonly stream: Writable;
  /**
   * A file's descriptor (absent for standard output), for a writer on another thread that writes
   * to it synchronously (`writeSync`) instead of through `stream`: it must be done before
   * `commit()`, which closes the descriptor.
   */
  readonly fd?: number;
  /** End the stream and, for a file, rename the temporary file over the destination. */
  commit(): Promise<void>;
  /** Drop what was written (a file's destination is left as it was). */
  discard(): Promise<void>;
}

/**
 * Standard output as a stream that lets the event loop turn after every chunk. Writes to a file or
 * a pipe on standard output are synchronous in Node, so a writer that never has to wait for
 * `drain` (`generate -o - > big.csv`) would never let a SIGINT/SIGTERM handler run; here each chunk
 * completes on the next turn of the loop (setImmediate), and a writer awaiting `drain` lets signals
 * in. Closing standard output (`| head`) is left to the process handlers (cli/process.ts: exit 0).
 */
function stdoutStream(): Writable {
  const out = process.stdout;
  return new PassThroughStdout(out);
}

class PassThroughStdout extends Writable {
  constructor(private readonly out: NodeJS.WriteStream) {
    super({ highWaterMark: 1 << 16, decodeStrings: false });
  }
  override _write(chunk: string | Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    const ok = typeof chunk === 'string' ? this.out.write(chunk, encoding) : this.out.write(chunk);
    if (ok) setImmediate(cb);
    else this.out.once('drain', () => setImmediate(cb));
  }
}

/**
 * Open `path` for writing (`-` = standard output).
 * @throws InputError naming `path` when its folder does not exist or cannot be written.
 */
export async function openOutput(path: string): Promise<Output> {
  if (path === '') throw new InputError('the output path is empty (give a file name, or - for standard output)', '');
  if (path === '-') {
    const stream = stdoutStream();
    return {
      stream,
      commit: async () => {
        stream.end();
        if (!stream.writableFinished) await once(stream, 'finish');
        if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
      },
      discard: async () => {},
    };
  }
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw unwritable(path, Object.assign(new Error('it is a folder'), { code: 'EISDIR' }));
  // A device or a FIFO (`--perfetto /dev/null`, a named pipe) is written in place, as a shell's `>`
  // would: renaming a file over it would replace the device with that file.
  if (existing && !existing.isFile()) return openInPlace(path);
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  return openFile(path, tmp, {
    opened: () => inFlight.add(tmp),
    committed: async () => {
      await rename(tmp, path);
      inFlight.delete(tmp);
    },
    dropped: async () => {
      await rm(tmp, { force: true });
      inFlight.delete(tmp);
    },
  });
}

/** An existing path that is not a regular file (a device, a FIFO): written directly, nothing to rename or remove. */
function openInPlace(path: string): Output {
  return openFile(path, path, { opened: () => {}, committed: async () => {}, dropped: async () => {} });
}

/**
 * Open `file` for the output `path` (the temporary file, or the path itself), as a stream that
 * closes the descriptor when it ends; `then` says what follows the open, a complete write and a
 * dropped one.
 * @throws InputError naming `path` when `file` cannot be opened.
 */
function openFile(
  path: string,
  file: string,
  then: { opened: () => void; committed: () => Promise<void>; dropped: () => Promise<void> },
): Output {
  // Open first (not lazily in the stream) so that a bad path fails before any work is done; and
  // synchronously, in the same turn of the event loop as recording it in flight: an asynchronous
  // open creates the file on a thread, and a Ctrl-C handled before its callback left it behind.
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw unwritable(path, e);
  }
  then.opened();
  const stream: WriteStream = createWriteStream(file, { fd }); // closes the descriptor when it ends
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => {});
  const drop = async () => {
    stream.destroy();
    await then.dropped();
  };
  return {
    stream,
    fd,
    commit: async () => {
      try {
        stream.end();
        await Promise.race([once(stream, 'close'), failed]);
        await then.committed();
      } catch (e) {
        await drop();
        throw unwritable(path, e);
      }
    },
    discard: drop,
  };
}

/**
 * Check now that `path` can be written later (an output written whole at the end): for a file, a
 * temporary file opened and removed beside it; for a device or a FIFO, its permission only (opening
 * a FIFO would wait for a reader, and closing it would give that reader an end of file).
 * @throws InputError naming `path` when it cannot be written.
 */
export async function probeOutput(path: string): Promise<void> {
  const existing = path === '-' ? undefined : statSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      throw unwritable(path, e);
    }
    return;
  }
  await (await openOutput(path)).discard();
}

/**
 * Run `write` on the output `path` and commit it; on any error the destination is left as it was.
 * @returns what `write` returns.
 * @throws InputError for an unwritable path; whatever `write` throws.
 */
export async function withOutput<T>(path: string, write: (out: Writable) => Promise<T>): Promise<T> {
  const o = await openOutput(path);
  let result: T;
  try {
    result = await write(o.stream);
  } catch (e) {
    await o.discard();
    throw e;
  }
  await o.commit();
  return result;
}

/** Write `data` to `path` atomically (temporary file, then rename); `-` writes it to stdout. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  await withOutput(path, async (out) => {
    if (!out.write(data)) await once(out, 'drain');
  });
}
