/**
 * scripts/regen-corpus.sh end to end (`npm run test:slow`: it re-imports every recording, regenerates
 * every profile and rewrites every expectation in a copy of the tree, about 12 s).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmp } from '../helpers/cli.js';

const BIN = 'bin/asid-replay.js';

describe('scripts/regen-corpus.sh', () => {
  it('a user trace in traces/generated/ (README: build.csv) does not stop it half way', () => {
    const d = tmp();
    for (const f of ['bin', 'dist', 'node_modules', 'package.json']) symlinkSync(join(process.cwd(), f), join(d, f));
    cpSync('traces', join(d, 'traces'), { recursive: true });
    cpSync('scripts', join(d, 'scripts'), { recursive: true });
    const gen = spawnSync(process.execPath, [BIN, 'generate', 'kernel-build', '-n', '500', '-o', join(d, 'traces/generated/build.csv')]);
    expect(gen.status).toBe(0);
    const r = spawnSync('bash', ['scripts/regen-corpus.sh'], { cwd: d, encoding: 'utf8', env: { ...process.env, SKIP_BUILD: '1' } });
    expect(r.stderr).not.toContain('unknown profile');
    expect(r.status).toBe(0);
    // The shipped corpus comes out unchanged, and the user's trace got its expectation.
    expect(readFileSync(join(d, 'traces/generated/mixed.csv'), 'utf8')).toBe(readFileSync('traces/generated/mixed.csv', 'utf8'));
    expect(existsSync(join(d, 'traces/generated/build.expected.json'))).toBe(true);
  });
});
