/**
 * Expectations written by earlier versions: what `check` ignores when it compares a stored report
 * with a new one, so that an old corpus still passes and an expectation changes only when an answer
 * does. Report version 2 (docs/report.md) also carried what the era table says of the kernel
 * (`system.features`, `system.sources`) and the allocator's provenance (`allocator.source`): not
 * answers, and gone from version 3.
 */
import { REPORT_SCHEMA, REPORT_VERSION } from '../report/report.js';

/** Report versions that differ from {@link REPORT_VERSION} only by {@link TABLE_FIELDS}. */
export const COMPATIBLE_VERSIONS: readonly number[] = [2, REPORT_VERSION];

/** The fields (`object.key` paths) of a version-2 report that came from the model's tables, not from the replay. */
export const TABLE_FIELDS = ['system.features', 'system.sources', 'allocator.source'] as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `v` is a report of a compatible version that still holds a table field (version 2's shape). */
export function isOldShape(v: unknown): boolean {
  if (!isObject(v) || v.schema !== REPORT_SCHEMA || !COMPATIBLE_VERSIONS.includes(v.version as number)) return false;
  return v.version !== REPORT_VERSION || TABLE_FIELDS.some((f) => has(v, f));
}

function has(v: Json, path: string): boolean {
  const [head, key] = path.split('.') as [string, string];
  const o = v[head];
  return isObject(o) && Object.hasOwn(o, key);
}

/**
 * The parts of a report `check` compares: `v` without {@link TABLE_FIELDS} and with a compatible
 * version read as {@link REPORT_VERSION}, as a new object (`v` is not changed). Anything that is
 * not a report of a compatible version (another schema, version 1, not an object) is returned as
 * it is, so that it differs as before.
 */
export function comparable(v: unknown): unknown {
  if (!isObject(v) || v.schema !== REPORT_SCHEMA || !COMPATIBLE_VERSIONS.includes(v.version as number)) return v;
  const out: Json = { ...v, version: REPORT_VERSION };
  for (const path of TABLE_FIELDS) {
    const [head, key] = path.split('.') as [string, string];
    const o = out[head];
    if (isObject(o) && Object.hasOwn(o, key)) {
      const { [key]: _dropped, ...rest } = o;
      out[head] = rest;
    }
  }
  return out;
}
