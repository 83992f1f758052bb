/**
 * The SVA driver designs of `--driver` are design files (examples/designs/drivers/<name>.mjs,
 * docs/designs.md): the base parts are `private-asid` (v6.11, d38c28dbefee) and `--driver X`
 * composes built-in design X over them. So on every device trace of the corpus, `--driver X` and
 * `--driver private-asid --design examples/designs/drivers/X.mjs` (a design without a base, over a
 * kernel run with the base driver) must give the same report but for the names: the composition
 * (driver design under a user's design, over the base parts) is the same whichever way the file is
 * named. The design must change the answer somewhere (else the comparison proves nothing); that each
 * design does what its kernel does is the corpus's job (`check traces`: sva-btm, dma-collide,
 * asid-move-race.6.10, ... run these designs) and the scenario tests'.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDesign } from '../src/design/load.js';
import { BASE_DRIVER } from '../src/model/kernel/builtins.js';
import { DRIVER_DESIGNS } from '../src/model/kernel/eras.js';
import { replayFile } from '../src/replay/engine.js';
import type { Report } from '../src/report/report.js';
import { cli } from './helpers/cli.js';

/** Every corpus trace whose system declares SMMUs. */
const DEVICE_TRACES = ['generated', 'kernel-bugs', 'real', 'scenarios'].flatMap((d) =>
  readdirSync(`traces/${d}`)
    .filter((f) => f.endsWith('.csv'))
    .map((f) => `traces/${d}/${f}`)
    .filter((f) => /^# system:.*"smmus"/m.test(readFileSync(f, 'utf8').slice(0, 4096))),
);

/** The report without what names the driver or the design. */
const answer = (r: Report) => ({ ...r, devices: { ...r.devices, driver: '' }, system: { ...r.system, driver: '' }, design: undefined });

const DESIGNED = DRIVER_DESIGNS.filter((d) => d !== BASE_DRIVER);

describe('each --driver other than the base is its design file (examples/designs/drivers/)', () => {
  it('the corpus has device traces of every SVA era', () => {
    expect(DEVICE_TRACES.length).toBeGreaterThanOrEqual(15);
    expect(DESIGNED).toEqual(['shared-asid', 'btm-2023']);
  });

  for (const x of DESIGNED) {
    it(`${x}: --driver ${x} and --driver ${BASE_DRIVER} --design drivers/${x}.mjs give the same report on every device trace`, async () => {
      const d = await loadDesign(`examples/designs/drivers/${x}.mjs`);
      expect([d.name, d.base]).toEqual([x, undefined]);
      let changed = 0;
      for (const trace of DEVICE_TRACES) {
        const byFlag = await replayFile(trace, { parseThreads: 0, overrides: { driver: x } });
        const byDesign = await replayFile(trace, { parseThreads: 0, overrides: { driver: BASE_DRIVER }, parts: d.parts });
        const base = await replayFile(trace, { parseThreads: 0, overrides: { driver: BASE_DRIVER } });
        expect(byFlag.devices.driver, trace).toBe(x);
        expect(byDesign.devices.driver, trace).toBe(BASE_DRIVER);
        // One global arm_smmu_asid_xa in mainline from v5.8 (every device trace is later); one per SMMU in the 2023 series.
        expect(byFlag.devices.asidPools, trace).toBe(x === 'btm-2023' ? 'per-smmu' : 'global');
        expect(answer(byDesign), trace).toEqual(answer(byFlag));
        if (JSON.stringify(answer(base)) !== JSON.stringify(answer(byFlag))) changed++;
      }
      // The design changes what a bind does: most device traces bind.
      expect(changed).toBeGreaterThanOrEqual(5);
    });
  }
});

describe('the CLI: --driver X and --design examples/designs/drivers/X.mjs on a kernel whose default driver is the base', () => {
  const replay = async (...args: string[]) => {
    const r = await cli('replay', 'traces/kernel-bugs/asid-move-race.6.11.csv', '--json', ...args);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as Report;
  };
  for (const x of DESIGNED) {
    it(`${x} on 6.11 (default ${BASE_DRIVER})`, async () => {
      const byFlag = await replay('--driver', x);
      const byDesign = await replay('--design', `examples/designs/drivers/${x}.mjs`);
      expect(byDesign.system.kernel).toBe('6.11');
      expect(byDesign.devices.driver).toBe(BASE_DRIVER);
      expect(byDesign.design).toMatchObject({ name: x, base: '6.11' });
      expect(answer(byDesign)).toEqual(answer(byFlag));
    });
  }

  it('the shared-asid design brings back the 6.10 race on the 6.11 trace (the answer changes)', async () => {
    const plain = await replay();
    const byDesign = await replay('--design', 'examples/designs/drivers/shared-asid.mjs');
    expect(answer(byDesign)).not.toEqual(answer(plain));
  });
});
