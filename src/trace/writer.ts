/**
 * Writer of trace v1 CSV (used by the importers and the generator). Streams to any Writable,
 * honouring back-pressure, so arbitrarily long traces use constant memory.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { COLUMNS, type TraceEvent, protName } from './events.js';

/** Column order the writer uses (the format allows any order; this one is fixed for byte-identical output). */
export const HEADER = COLUMNS.join(',');

/** Render one event as a CSV line (no newline). Identifiers never contain commas or quotes. */
export function formatEvent(e: Omit<TraceEvent, 'row'>): string {
  return [
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
}

export class TraceWriter {
  private buf: string[] = [];
  private bytes = 0;
  /** Events written so far. */
  count = 0;

  constructor(private readonly out: Writable) {}

  /** Comments (each becomes `# ...`), the `# system:` line, then the header. */
  async begin(system: object, comments: readonly string[] = []): Promise<void> {
    for (const c of comments) this.push(`# ${c}\n`);
    this.push(`# system: ${JSON.stringify(system)}\n`);
    this.push(HEADER + '\n');
    await this.flushIfFull();
  }

  /** Append a comment line. */
  async comment(text: string): Promise<void> {
    this.push(`# ${text}\n`);
    await this.flushIfFull();
  }

  async write(e: Omit<TraceEvent, 'row'>): Promise<void> {
    this.push(formatEvent(e) + '\n');
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
