/** The event kinds `explore` can put in its alphabet (a module of its own: the CLI reads it without loading the search). */
/** Event kinds the alphabet knows. */
export const ALPHABET_KINDS = [
  'fork',
  'exit',
  'schedule',
  'pin',
  'unpin',
  'access',
  'map',
  'unmap',
  'attach',
  'detach',
  'bind',
  'unbind',
  'dma',
  'resume',
] as const;
