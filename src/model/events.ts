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

/**
 * What each kind does, in one line with the kernel path it stands for: the trace format's
 * documentation (docs/trace-format.md has a row per kind; test/event-kinds.test.ts checks it).
 */
export const EVENT_DOCS = {
  fork: 'a new task (kernel/fork.c copy_process): a new mm, or a thread of `mm`',
  exec: 'the task gets a new mm (fs/exec.c exec_mmap); the old one may end (mmput)',
  exit: 'the task ends (do_exit); its mm ends with its last user (mmput -> exit_mmap)',
  schedule: 'CPU `cpu` switches to `task` (switch_mm -> check_and_switch_context); task 0 is idle',
  pin: 'arm64_mm_context_get(mm): the ASID pinned for a device',
  unpin: 'arm64_mm_context_put(mm)',
  attach: 'device attached to DMA domain `domain` (arm_smmu_attach_dev)',
  detach: 'device detached (blocking / identity domain)',
  bind: 'SVA bind of `mm` to the device (iommu_sva_bind_device), optionally at `pasid`, optionally stepped (`op`)',
  unbind: 'SVA unbind (iommu_sva_unbind_device)',
  map: 'PTEs of `mm` (a fault: ptep_set_access_flags) or IOVA of `domain` (iommu_map) over [va, va+size)',
  unmap: 'munmap of `mm` (unmap_region) or iommu_unmap of `domain` over [va, va+size)',
  mprotect: 'change_protection of `mm` over [va, va+size) to `prot`',
  access: 'the task on `cpu` touches `va` (a TLB fill)',
  dma: 'the device reads (or writes: `prot`) `va`, through `pasid` or its DMA domain',
  resume: 'the next step of the stepped driver operation `op`',
} as const satisfies Record<EventKind, string>;

/** The two sides of the model's state. */
export type StateSide = 'cpu' | 'smmu';
/**
 * Which side of the state each kind's step may change, whatever parts run (a design replaces
 * allocator functions, which see the CPU side only). explore's reductions read this table, never a
 * list of their own: a kind that says nothing is taken to change everything.
 * `removesOnly`: with no SMMU, the step only removes CPU state (TLB entries, mappings), so a
 * state it leads to has no hazard the state before it lacked.
 */
export const EVENT_EFFECTS = {
  fork: { writes: ['cpu'] },
  exec: { writes: ['cpu', 'smmu'] },
  exit: { writes: ['cpu', 'smmu'] },
  schedule: { writes: ['cpu'] },
  pin: { writes: ['cpu'] },
  unpin: { writes: ['cpu'] },
  attach: { writes: ['cpu', 'smmu'] },
  detach: { writes: ['cpu', 'smmu'] },
  bind: { writes: ['cpu', 'smmu'] },
  unbind: { writes: ['cpu', 'smmu'] },
  map: { writes: ['cpu', 'smmu'] },
  unmap: { writes: ['cpu', 'smmu'], removesOnly: true },
  mprotect: { writes: ['cpu', 'smmu'] },
  access: { writes: ['cpu'] },
  dma: { writes: ['cpu', 'smmu'] },
  resume: { writes: ['cpu', 'smmu'] },
} as const satisfies Record<EventKind, { writes: readonly StateSide[]; removesOnly?: boolean }>;

/**
 * The end of a `switch (e.kind)` over every kind: `e` is `never` there, so adding a kind to
 * {@link EVENT_KINDS} without a case fails the type check (test/event-kinds.test.ts shows it).
 */
export function unhandledKind(e: never): never {
  throw new Error(`event kind ${(e as { kind: string }).kind} has no step`);
}

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
