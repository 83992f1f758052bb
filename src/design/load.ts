/**
 * `--design <file.mjs>`: load a design file, check its shape, compose its parts (docs/designs.md).
 *
 * A design is code. It is loaded only from a path the user typed (a flag, or a config file the
 * user named), never because a trace, a `# system:` line or an expectation file names one: replaying
 * or checking an untrusted trace never runs code.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KernelParts } from '../model/kernel/parts.js';
import { PART_NAMES } from '../model/kernel/parts.js';
import type { Design } from './api.js';
import { DesignError, composeParts, frameIn } from './compose.js';

export { DesignError } from './compose.js';

/** A design ready to run. */
export interface LoadedDesign {
  /** The path as given. */
  file: string;
  name: string;
  /** The kernel release it patches; undefined: it applies to whatever kernel the run uses. */
  base?: string | undefined;
  description?: string | undefined;
  /** SHA-256 of the file's bytes, hex, first 16 digits (reports name it beside the name). */
  hash: string;
  /** The parts replaced, by kernel name. */
  replaced: string[];
  /** Base parts with the design's replacements. */
  parts: KernelParts;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * Load the design in `file` (an ES module: `.mjs`, or `.js` in an ES package).
 * @throws DesignError (an InputError: exit 2, `file[:line[:col]]: message`) when the file cannot
 *   be read or imported, its default export is not a design, or building a replacement fails.
 */
export async function loadDesign(file: string): Promise<LoadedDesign> {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DesignError(code === 'ENOENT' ? 'no such design file' : `cannot read the design file (${code ?? String(e)})`, file);
  }
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const url = pathToFileURL(path).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(`${url}?sha256=${hash}`)) as { default?: unknown };
  } catch (e) {
    const at = frameIn(e, url) ?? (e instanceof SyntaxError ? syntaxLine(path) : undefined);
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new DesignError(`cannot load the design: ${what}`, file, at?.line, at?.column);
  }
  const d = mod.default;
  const wrong = shapeProblem(d);
  if (wrong) throw new DesignError(`not a design: ${wrong} (docs/designs.md shows the shape)`, file);
  const design = d as Design;
  const parts = composeParts(design, { file, url: `${url}?sha256=${hash}`, source: bytes.toString('utf8') });
  return {
    file,
    name: design.name,
    base: design.base,
    description: design.description,
    hash,
    replaced: Object.keys(design.parts),
    parts,
  };
}

/** What makes `d` not a {@link Design}, or undefined (the check of `--design` files and of the built-in ones). */
export function shapeProblem(d: unknown): string | undefined {
  if (d === undefined) return 'the file has no default export (`export default { name, parts }`)';
  if (typeof d !== 'object' || d === null) return `its default export is ${typeof d}, not an object`;
  const o = d as Record<string, unknown>;
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) return '`name` must be a short name (letters, digits, ".", "_", "-")';
  if (o.base !== undefined && (typeof o.base !== 'string' || o.base === ''))
    return '`base`, when given, must name the kernel release the patch applies to, such as "5.10"';
  if (o.description !== undefined && typeof o.description !== 'string') return '`description` must be a string';
  if (typeof o.parts !== 'object' || o.parts === null) return '`parts` must be an object of replacements by kernel function name';
  const known = new Set<string>(PART_NAMES);
  for (const [k, v] of Object.entries(o.parts)) {
    if (!known.has(k)) return `parts.${k} is not a part; the parts are ${PART_NAMES.join(', ')}`;
    if (typeof v !== 'function') return `parts.${k} must be a function (base, api) => replacement`;
  }
  for (const k of Object.keys(o)) if (!['name', 'base', 'description', 'parts'].includes(k)) return `unknown field \`${k}\``;
  return undefined;
}

/**
 * The line of a syntax error in the module at `path`. Node 20 keeps it out of the error thrown by
 * `import()` (it only prints it for an uncaught one), so ask `node --check`, which prints
 * `<path>:<line>` first; spawned only when the import has already failed.
 */
function syntaxLine(path: string): { line: number; column?: number } | undefined {
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const first = (r.stderr ?? '').split('\n')[0] ?? '';
  const m = first.startsWith(path) ? /^:(\d+)$/.exec(first.slice(path.length)) : null;
  return m ? { line: Number(m[1]) } : undefined;
}

const loaded = new Map<string, Promise<LoadedDesign>>();
/** {@link loadDesign}, once per path per thread (check's workers replay many traces under one design). */
export function loadDesignOnce(file: string): Promise<LoadedDesign> {
  let p = loaded.get(file);
  if (!p) loaded.set(file, (p = loadDesign(file)));
  return p;
}
