/**
 * Writer of trace v1 CSV (used by the importers and the generator). Streams to any Writable,
 * honouring back-pressure, so arbitrarily long traces use constant memory.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { COLUMNS, type TraceEvent, protName } from './events.js';

/**
 * Column order the writer uses (the format allows any order; this one is fixed for byte-identical
 * output): every column but `src`, for traces without provenance (generated ones).
 */
export const HEADER = COLUMNS.filter((c) => c !== 'src').join(',');
/** The header of a trace with provenance (imported ones): {@link HEADER} then `src`. */
export const SRC_HEADER = COLUMNS.join(',');

/**
 * Render one event as a CSV line (no newline). Identifiers and `src` cells never contain commas or
 * quotes.
 * @param withSrc add the `src` cell (empty when the event has none): the line of a {@link SRC_HEADER} trace.
 */
export function formatEvent(e: Omit<TraceEvent, 'row'>, withSrc = false): string {
  const line = [
    e.time ?? '',
    e.kind,
    e.cpu ?? '',
    e.task ?? '',
    e.mm ?? '',
    e.device ?? '',
    e.domain ?? '',
    e.pasid ?? '',
    e.va === undefined ? '' : '0x' + e.va.toString(16),
    e.size === undefined ? '' : '0x' + e.size.toString(16),
    e.prot === undefined ? '' : protName(e.prot),
    e.op ?? '',
  ].join(',');
  return withSrc ? `${line},${e.src ?? ''}` : line;
}

/** A streaming trace v1 writer: {@link TraceWriter.begin}, then events, then {@link TraceWriter.flush}. */
export class TraceWriter {
  private buf: string[] = [];
  private bytes = 0;
  /** Events written so far. */
  count = 0;

  /**
   * @param out where the trace goes.
   * @param opts `src`: write the `src` column (provenance; importers set it).
   */
  constructor(
    private readonly out: Writable,
    private readonly opts: { src?: boolean } = {},
  ) {}

  /** Comments (each becomes `# ...`), the `# system:` line, then the header. */
  async begin(system: object, comments: readonly string[] = []): Promise<void> {
    for (const c of comments) this.push(`# ${c}\n`);
    this.push(`# system: ${JSON.stringify(system)}\n`);
    this.push((this.opts.src ? SRC_HEADER : HEADER) + '\n');
    await this.flushIfFull();
  }

  /** Append a comment line. */
  async comment(text: string): Promise<void> {
    this.push(`# ${text}\n`);
    await this.flushIfFull();
  }

  /** Append one event (its `src` is written only when the writer was opened with `src`). */
  async write(e: Omit<TraceEvent, 'row'>): Promise<void> {
    this.push(formatEvent(e, this.opts.src) + '\n');
    this.count++;
    if (this.bytes >= 1 << 16) await this.flush();
  }

  private push(s: string): void {
    this.buf.push(s);
    this.bytes += s.length;
  }

  private async flushIfFull(): Promise<void> {
    if (this.bytes >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('');
    this.buf = [];
    this.bytes = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}
