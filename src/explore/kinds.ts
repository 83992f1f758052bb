/** The event kinds `explore` can put in its alphabet (a module of its own: the CLI reads it without loading the search). */
import type { EventKind } from '../model/events.js';

/** Event kinds the alphabet knows. */
export const ALPHABET_KINDS = [
  'fork',
  'exec',
  'exit',
  'schedule',
  'pin',
  'unpin',
  'access',
  'map',
  'unmap',
  'mprotect',
  'attach',
  'detach',
  'bind',
  'unbind',
  'dma',
  'resume',
] as const satisfies readonly EventKind[];
type NotInAlphabet = Exclude<EventKind, (typeof ALPHABET_KINDS)[number]>;
/** Compile-time check: a kind missing from {@link ALPHABET_KINDS} makes this a type error. */
export const ALPHABET_COMPLETE: [NotInAlphabet] extends [never] ? true : NotInAlphabet = true;

/** Default alphabet without devices (`map` of an mm is left out: a second unmap finds nothing new). */
export const DEFAULT_CPU_KINDS: readonly EventKind[] = ['fork', 'exec', 'exit', 'schedule', 'pin', 'unpin', 'access', 'unmap'];
/**
 * What devices add to the default alphabet: `map`/`unmap` then also act on DMA domains, `map` and
 * `mprotect` change an mm page's rights (`r` or `rw`: a map with `r`, the fault that raises `r` to
 * `rw`, `change_protection` either way) and `dma` through a PASID also writes.
 */
export const DEFAULT_DEVICE_KINDS: readonly EventKind[] = [
  'attach',
  'detach',
  'map',
  'unmap',
  'mprotect',
  'bind',
  'unbind',
  'dma',
  'resume',
];
/**
 * Default alphabet with devices: the driver pins through `bind`, so `pin`/`unpin` leave it (a bare
 * unpin would put the bind's pin: a trace bug, not a kernel one); `--events` brings them back.
 */
export const DEFAULT_KINDS_WITH_DEVICES: readonly EventKind[] = [
  ...DEFAULT_CPU_KINDS.filter((k) => k !== 'pin' && k !== 'unpin' && k !== 'unmap'),
  'unmap',
  ...DEFAULT_DEVICE_KINDS.filter((k) => k !== 'unmap'),
];
