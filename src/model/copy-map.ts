/**
 * A copy of a Map, entries in the same order: what `new Map(m)` gives, about 1.5 times faster
 * (V8 runs the Map constructor through the generic iterator protocol; a `for...of` loop over a Map
 * is optimised). State clones are on explore's hot path: one per edge of the search.
 */
export function copyMap<K, V>(m: ReadonlyMap<K, V>): Map<K, V> {
  const c = new Map<K, V>();
  for (const [k, v] of m) c.set(k, v);
  return c;
}
