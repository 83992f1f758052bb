/**
 * The events the model steps over, derived from one table: which fields each kind requires and
 * which it may carry. `ModelEvent` is the discriminated union the table implies, so a step reads
 * `e.cpu` of a `schedule` as a number, not as "maybe". The trace layer validates rows against the
 * same table before it hands them over.
 */

/** Event kinds, in the order of the trace format's documentation. */
export const EVENT_KINDS = [
  'fork',
  'exec',
  'exit',
  'schedule',
  'pin',
  'unpin',
  'attach',
  'detach',
  'bind',
  'unbind',
  'map',
  'unmap',
  'mprotect',
  'access',
  'dma',
  'resume',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The fields an event may carry and their types (`time` in ns; `prot` is {@link PROT_READ} | {@link PROT_WRITE}). */
export interface EventFields {
  time: number;
  cpu: number;
  task: number;
  mm: string;
  device: string;
  domain: string;
  pasid: number;
  va: number;
  size: number;
  prot: number;
  /** Label of a driver operation replayed in steps: `bind` starts it, `resume` runs its next step. */
  op: string;
}
export type Field = keyof EventFields;

/** Which fields each event requires and which it may use (everything else must be absent). */
export const EVENT_TABLE = {
  fork: { required: ['task'], optional: ['mm'] },
  exec: { required: ['task'], optional: ['mm'] },
  exit: { required: ['task'], optional: [] },
  schedule: { required: ['cpu', 'task'], optional: [] },
  pin: { required: ['mm'], optional: [] },
  unpin: { required: ['mm'], optional: [] },
  attach: { required: ['device', 'domain'], optional: [] },
  detach: { required: ['device'], optional: [] },
  bind: { required: ['device', 'mm'], optional: ['pasid', 'op'] },
  unbind: { required: ['device', 'mm'], optional: [] },
  // map/unmap name exactly one of mm (a process) and domain (a DMA domain): the trace layer checks it.
  map: { required: ['va', 'size'], optional: ['mm', 'domain', 'prot'] },
  unmap: { required: ['va', 'size'], optional: ['mm', 'domain'] },
  // mprotect names a process only (change_protection); a DMA domain has no such path.
  mprotect: { required: ['mm', 'va', 'size', 'prot'], optional: [] },
  access: { required: ['cpu', 'va'], optional: [] },
  dma: { required: ['device', 'va'], optional: ['pasid', 'prot'] },
  resume: { required: ['op'], optional: [] },
} as const satisfies Record<EventKind, { required: readonly Field[]; optional: readonly Field[] }>;

type Table = typeof EVENT_TABLE;
/** One event of kind `K`: its required fields, its optional ones, the row it came from and its time. */
export type EventOf<K extends EventKind> = { kind: K; row: number; time?: number } & {
  [F in Table[K]['required'][number]]: EventFields[F];
} & { [F in Table[K]['optional'][number]]?: EventFields[F] };

/** An event as read from a trace, before its kind's fields are known to be present (the trace layer's view). */
export type RawEvent = { row: number; kind: EventKind } & Partial<EventFields>;

/** Any event, discriminated by `kind`. */
export type ModelEvent = { [K in EventKind]: EventOf<K> }[EventKind];

/** `prot` bits. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;

/** `r`, `w`, `rw` or `none`. */
export function protName(p: number): string {
  return (p & PROT_READ ? 'r' : '') + (p & PROT_WRITE ? 'w' : '') || 'none';
}
