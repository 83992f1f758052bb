/**
 * Stale IOTLB/ATC entries (docs/model.md): S-UNMAP (use after unmap), S-ALIAS (ASID or SSID
 * re-bound to another address space without a purge) and S-PERM (rights differ from the PTE), checked
 * at every DMA hit and, as latent checks, right after every completed unmap, unbind, release, domain
 * free and ASID free.
 */
import type { Pte } from '../cpu/index.js';
import { protName } from '../events.js';
import type { StaleFinding, StaleKind } from './observer.js';
import { atcEntries } from './atc.js';
import { domainIdOf } from './keys.js';
import { type Ctx, asName } from './port.js';
import { vaOf } from '../pages.js';
import type { Master, TlbEntry } from './state.js';

const UNMAPPED_UNKNOWN: Pte = Object.freeze({ prot: 0, epoch: -1, row: 0 });

/** Walk an address space (mm via the CPU port, DMA domain via its io-pgtable). A dead mm maps nothing. */
export function walkAs(c: Ctx, as: number, page: number): Pte {
  if (as >= 0) {
    const sva = c.st.svaMms.get(as);
    // Stryker disable next-line OptionalChaining,UnaryOperator: equivalent, only mms with an SVA record are walked (a CD's, or a bound mm being invalidated), and no caller reads the epoch of a PTE with prot 0
    if (sva?.dead) return { prot: 0, epoch: -1, row: sva.deadRow };
    return c.cpu.walk(as, page);
  }
  const name = c.st.domainIds.get(domainIdOf(as));
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: only live domains are walked (the one a CD reaches, the one being unmapped); a freed domain's entries are only ever S-ALIAS, which walks nothing
  if (name === undefined) return UNMAPPED_UNKNOWN;
  return c.st.domains.get(name)!.ptes.get(page) ?? UNMAPPED_UNKNOWN;
}

/** Does this entry still translate as the address space `e.as` does? */
function staleAgainstOwner(c: Ctx, e: TlbEntry, page: number): { kind: StaleKind; pte: Pte } | null {
  const t = walkAs(c, e.as, page);
  if (t.prot === 0 || t.epoch !== e.epoch) return { kind: 'S-UNMAP', pte: t };
  if (e.prot & ~t.prot) return { kind: 'S-PERM', pte: t };
  return null;
}

/** Where a stale entry was found and what it is about (the fields of a {@link StaleFinding} the caller knows). */
interface StaleSite {
  kind: StaleKind;
  cache: 'iotlb' | 'atc';
  latent: boolean;
  /** SMMU index. */
  smmu: number;
  device: string;
  ssid: number;
  page: number;
  entry: TlbEntry;
  /** Address space the access reaches (hits), or null. */
  current: number | null;
  /** Row of the event that should have removed the entry (0 or null: unknown). */
  shouldHaveRow: number | null;
  detail: string;
}

function report(c: Ctx, x: StaleSite): void {
  const f: StaleFinding = {
    row: c.row,
    kind: x.kind,
    cache: x.cache,
    latent: x.latent,
    smmu: c.st.smmus[x.smmu]!.name,
    device: x.device,
    pasid: x.ssid,
    asid: x.entry.asid,
    va: vaOf(x.page),
    owner: asName(c, x.entry.as),
    current: x.current === null ? null : asName(c, x.current),
    fillRow: x.entry.fillRow,
    // Stryker disable next-line ConditionalExpression: equivalent, -> false: no site passes 0: event rows start at 1, INITIAL_PTE (row 0, rw, epoch 0) never makes an entry stale, and an exiting bound mm is walked as dead
    shouldHaveRow: x.shouldHaveRow === 0 ? null : x.shouldHaveRow,
    detail: x.detail,
  };
  c.obs.stale(f);
}

/**
 * A DMA hit on `e` through a context reaching address space `cur`: report it if it is stale (the
 * caller checks the access against the entry's rights either way, dma.ts).
 * @param aliasRow row at which the tag (ASID, or SSID for the ATC) left its previous owner
 */
export function checkHit(
  c: Ctx,
  cache: 'iotlb' | 'atc',
  m: Master,
  ssid: number,
  page: number,
  access: number,
  e: TlbEntry,
  cur: number,
  aliasRow: number | undefined,
): void {
  const va = `0x${vaOf(page).toString(16)}`;
  if (e.as !== cur) {
    report(c, {
      kind: 'S-ALIAS',
      cache,
      latent: false,
      smmu: m.smmu,
      device: m.name,
      ssid,
      page,
      entry: e,
      current: cur,
      shouldHaveRow: aliasRow ?? null,
      detail: `${m.name} reaches ${asName(c, cur)} but hit an entry for ${va} filled from ${asName(c, e.as)} under ASID ${e.asid}`,
    });
    return;
  }
  const s = staleAgainstOwner(c, e, page);
  if (s) {
    const what =
      s.kind === 'S-UNMAP'
        ? s.pte.prot === 0
          ? 'is no longer mapped'
          : 'was mapped again since the fill'
        : `is now ${protName(s.pte.prot)} but the entry allows ${protName(e.prot)}`;
    report(c, {
      kind: s.kind,
      cache,
      latent: false,
      smmu: m.smmu,
      device: m.name,
      ssid,
      page,
      entry: e,
      current: cur,
      shouldHaveRow: s.pte.row,
      detail: `${va} of ${asName(c, cur)} ${what}`,
    });
    return;
  }
  const t = walkAs(c, cur, page);
  if (access & ~e.prot && !(access & ~t.prot)) {
    report(c, {
      kind: 'S-PERM',
      cache,
      latent: false,
      smmu: m.smmu,
      device: m.name,
      ssid,
      page,
      entry: e,
      current: cur,
      shouldHaveRow: t.row,
      detail: `benign direction: the PTE allows ${protName(t.prot)} but the cached entry only ${protName(e.prot)}: the access faults although the page allows it (livelock before v6.6)`,
    });
    return;
  }
}

/**
 * Latent S-UNMAP/S-PERM after an unmap or rights change of `as` in pages [first, last] (last < 0: all).
 * @param why what the kernel did wrong, when the caller knows (appended to each finding's detail)
 */
export function latentAfterUnmap(c: Ctx, as: number, first: number, last: number, why = ''): void {
  c.st.smmus.forEach((s, i) => {
    const tags = s.tagsOf.get(as);
    if (!tags) return;
    for (const asid of tags) {
      const pages = s.iotlb.get(asid);
      if (!pages) {
        tags.delete(asid);
        continue;
      }
      const scan = last < 0 || last - first + 1 > pages.size;
      const check = (pg: number, e: TlbEntry) => {
        if (e.as !== as) return;
        const st = staleAgainstOwner(c, e, pg);
        if (st)
          report(c, {
            kind: st.kind,
            cache: 'iotlb',
            latent: true,
            smmu: i,
            device: e.device,
            ssid: e.ssid,
            page: pg,
            entry: e,
            current: null,
            shouldHaveRow: c.row,
            detail: `entry survived the invalidation of ${asName(c, as)}${why}`,
          });
      };
      if (scan) {
        for (const [pg, e] of pages) if (last < 0 || (pg >= first && pg <= last)) check(pg, e);
      } else {
        for (let pg = first; pg <= last; pg++) {
          const e = pages.get(pg);
          if (e) check(pg, e);
        }
      }
    }
    if (tags.size === 0) s.tagsOf.delete(as);
  });
  for (const m of c.st.masters.values()) {
    // Stryker disable next-line LogicalOperator: equivalent, a master without ATS never fills an ATC, so either test skips only empty ATCs
    if (!m.ats || m.atc.size === 0) continue;
    for (const [ssid, pg, e] of atcEntries(m)) {
      if (e.as !== as) continue;
      if (last >= 0 && (pg < first || pg > last)) continue;
      const st = staleAgainstOwner(c, e, pg);
      if (st)
        report(c, {
          kind: st.kind,
          cache: 'atc',
          latent: true,
          smmu: m.smmu,
          device: m.name,
          ssid,
          page: pg,
          entry: e,
          current: null,
          shouldHaveRow: c.row,
          detail: `ATC entry survived the invalidation of ${asName(c, as)}${why}`,
        });
    }
  }
}

/**
 * Latent S-ALIAS after ASID `asid` was freed or handed to `newOwner` (-Infinity: nobody) on SMMUs
 * `smmus`: no entry may remain under it from another address space.
 */
export function latentAfterTagChange(c: Ctx, smmus: readonly number[], asid: number, newOwner: number): void {
  for (const i of smmus) {
    const pages = c.st.smmus[i]!.iotlb.get(asid);
    if (!pages) continue;
    for (const [pg, e] of pages) {
      if (e.as === newOwner) continue;
      report(c, {
        kind: 'S-ALIAS',
        cache: 'iotlb',
        latent: true,
        smmu: i,
        device: e.device,
        ssid: e.ssid,
        page: pg,
        entry: e,
        current: Number.isFinite(newOwner) ? newOwner : null,
        shouldHaveRow: c.row,
        detail: Number.isFinite(newOwner)
          ? `ASID ${asid} now belongs to ${asName(c, newOwner)} but still caches ${asName(c, e.as)}`
          : `ASID ${asid} was freed with entries of ${asName(c, e.as)} still cached`,
      });
    }
  }
}

/** Latent S-ALIAS in a master's ATC after SSID `ssid` was unbound. */
export function latentAfterSsidFree(c: Ctx, m: Master, ssid: number): void {
  // Stryker disable next-line LogicalOperator: equivalent, a master without ATS never fills an ATC, so either test returns only for an empty one
  if (!m.ats || m.atc.size === 0) return;
  for (const [pg, e] of m.atc.get(ssid) ?? []) {
    report(c, {
      kind: 'S-ALIAS',
      cache: 'atc',
      latent: true,
      smmu: m.smmu,
      device: m.name,
      ssid,
      page: pg,
      entry: e,
      current: null,
      shouldHaveRow: c.row,
      detail: `SSID ${ssid} was unbound with ATC entries of ${asName(c, e.as)} still cached`,
    });
  }
}
