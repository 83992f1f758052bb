/**
 * The identifier rule of trace v1 (mm, device, domain, op cells), without zod: the fast path
 * (fast-row.ts) tests it on every row, and loading row-schema.ts (zod schemas built at load) only
 * for that cost start-up time. row-schema.ts builds its zod schema from the same expression.
 */

/** Identifiers (mm, device, domain, op): letters, digits and _.:-/@# (no spaces, quotes or newlines). */
export const NAME_RE = /^[A-Za-z0-9_.:\-/@#]+$/;
