/**
 * The events of a `trace.dat` as the importer reads them, taken from the records themselves instead
 * of from their ftrace text: for each record, the {@link FtraceLine} (and for `sched_switch` the
 * {@link SchedSwitch}) that `parseFtraceLine` / `parseSchedSwitch` would make of the line
 * {@link DatFormatter.line} prints for it, without printing or parsing that line.
 *
 * The text stays the definition. A record is read directly only when its line is plain, so that the
 * text parsers would give exactly these values: a comm of the saved command lines that the line
 * pattern reads back whole and that cannot start a header ({@link plainComm}), a pid, CPU and timestamp
 * that print as plain digits, an event name without `:`, comms and a `prev_state` that cannot move
 * the lazy groups of the sched_switch pattern, and no `#P:<digit>` anywhere (the import's prescan
 * takes such a line for a CPU count). Any other record is {@link TEXT}: the importer prints its line
 * and reads that, as before. test/tracedat-fast.test.ts checks record by record that both ways agree.
 */
import type { FtraceLine, SchedSwitch } from '../ftrace-line.js';
import { stateFlags } from './format.js';
import type { FieldFormat } from './format.js';
import type { TraceDat } from './file.js';
import { DatFormatter, type EventPrinter, type RecordBytes } from './records.js';

/** What {@link DatEvents.read} made of a record. */
export const OTHER = 0;
export const SWITCH = 1;
export const LIFECYCLE = 2;
export const TEXT = 3;
export type ReadAs = typeof OTHER | typeof SWITCH | typeof LIFECYCLE | typeof TEXT;

/** How the importer reads an event format. */
interface EventUse extends EventPrinter {
  /** {@link OTHER} (only counted by name), {@link SWITCH}, {@link LIFECYCLE}, or {@link TEXT} (a name the fast path leaves to the text). */
  use: ReadAs;
  /** Index of the name in {@link DatEvents.names} (OTHER events, counted by name). */
  nameIndex: number;
  /** sched_switch: its fields and `prev_state` as printed (cached per value). */
  sw?: {
    prevComm?: FieldFormat;
    prevPid?: FieldFormat;
    prevPrio?: FieldFormat;
    prevState?: FieldFormat;
    nextComm?: FieldFormat;
    nextPid?: FieldFormat;
    nextPrio?: FieldFormat;
    state: (s: number) => string;
    states: Map<number, string | undefined>;
  };
}

/**
 * A comm the line can start with and the text parsers read back as it is: not empty, no leading
 * whitespace (`^\s*` would take it), no `-<digits><whitespace>` (the lazy comm group of the line
 * pattern stops at the first one, which must be the pid's), no line terminator (`.`), not the start
 * of a comment or header line (isCommentLine: `#`, `cpus=<digit>`, `TRACE:`, `version = <digit>`,
 * `CPU <n> is empty`), no `#P:<digit>`. Spaces inside are fine (`UI Thread`).
 */
const plainComm = (c: string): boolean =>
  c !== '' && !/^\s|-\d+\s|#P:\d|[\n\r\u2028\u2029]/.test(c) && !/^(?:#|cpus=\d|TRACE:|version = \d|CPU \d+ is empty)/.test(c);

/** A string inside a sched_switch body that cannot move its pattern's groups; `key` is the ` <field>=` a lazy comm group stops at. */
const plainBodyText = (s: string, key: string): boolean => !s.includes(key) && !/#P:\d/.test(s);

/** A lifecycle body read back as it is: no line terminator (the pattern's `.`), no `#P:<digit>`. */
const plainBody = (s: string): boolean => !/[\n\r\u2028\u2029]|#P:\d/.test(s);

/** A number the line prints as plain digits (`-?\d+` reads it back). */
const plainInt = (v: number): boolean => Number.isSafeInteger(v);

/** The events of a trace.dat read for the importer, record by record (see the file comment). */
export class DatEvents {
  readonly fm: DatFormatter;
  /** Names of the OTHER events, by {@link EventUse.nameIndex}. */
  readonly names: string[] = [];
  private readonly uses = new Map<number, EventUse>();
  /** The same by id, for the ids below 65536 (a u16 `common_type`). */
  private readonly byId: (EventUse | undefined)[] = [];
  /** pid -> whether its comm is plain. */
  private readonly plainPid = new Map<number, boolean>();

  // What the last read() found (valid until the next call).
  /** The event's use (undefined when the record has no format). */
  ev: EventUse | undefined;
  /**
   * SWITCH, LIFECYCLE: the record's line as parsed; for SWITCH with an empty `body` (nothing reads a
   * sched_switch's body text once it is parsed: its body is `sw`).
   */
  line!: FtraceLine;
  /** SWITCH: the parsed body. */
  sw!: SchedSwitch;

  /**
   * @param only the events whose bodies the importer reads (sched_switch and the lifecycle events):
   *   the others print an empty body and are only counted by name.
   * @param lifecycle the events the importer reads as lifecycle events.
   */
  constructor(dat: TraceDat, only: ReadonlySet<string>, lifecycle: ReadonlySet<string>) {
    this.fm = new DatFormatter(dat, only);
    const names = new Map<string, number>();
    for (const [id, p] of this.fm.events) {
      const e = dat.events.get(id)!;
      // a name with ':' splits differently in the line; perf_* names are perf-script's task records
      const plainName = !p.name.includes(':') && !p.name.startsWith('perf_');
      const use: ReadAs = !plainName
        ? TEXT
        : p.name === 'sched_switch'
          ? SWITCH
          : lifecycle.has(p.name)
            ? LIFECYCLE
            : only.has(p.name)
              ? TEXT
              : OTHER;
      let nameIndex = names.get(p.name);
      if (nameIndex === undefined) {
        nameIndex = this.names.length;
        names.set(p.name, nameIndex);
        this.names.push(p.name);
      }
      const u: EventUse = { ...p, use, nameIndex };
      if (use === SWITCH) {
        const f = (n: string) => e.fields.get(n);
        u.sw = {
          prevComm: f('prev_comm'),
          prevPid: f('prev_pid'),
          prevPrio: f('prev_prio'),
          prevState: f('prev_state'),
          nextComm: f('next_comm'),
          nextPid: f('next_pid'),
          nextPrio: f('next_prio'),
          state: stateFlags(e.printFmt) ?? ((s: number) => String(s)),
          states: new Map(),
        };
      }
      this.uses.set(id, u);
    }
    const top = Math.min(65536, Math.max(-1, ...[...this.uses.keys()].filter((id) => id < 65536)) + 1);
    for (let id = 0; id < top; id++) this.byId.push(this.uses.get(id));
  }

  /**
   * Read a record on CPU `cpu` at `time` (ns): {@link OTHER} (an event only counted by name:
   * `ev.nameIndex`), {@link SWITCH} (`line` and `sw` set), {@link LIFECYCLE} (`line` set, its body
   * printed), or {@link TEXT} when its line is not plain (the caller prints it with `fm.line`).
   * With `view` false the same answer, without making a sched_switch's `line` and `sw` (a first
   * pass that only sorts the records): `prevPid` and `nextPid` are set and {@link switchComm}
   * gives the comms.
   */
  read(r: RecordBytes, cpu: number, time: number, view = true): ReadAs {
    const fm = this.fm;
    const id = fm.id(r);
    const ev = (this.ev = id >= 0 && id < this.byId.length ? this.byId[id] : this.uses.get(id));
    if (ev === undefined || ev.use === TEXT) return TEXT;
    const pid = fm.pid(r);
    if (!(pid >= 0 && Number.isSafeInteger(pid) && cpu < 4096 && Number.isSafeInteger(time))) return TEXT;
    let plain = this.plainPid.get(pid);
    if (plain === undefined) this.plainPid.set(pid, (plain = plainComm(fm.commOf(pid))));
    if (!plain) return TEXT;
    // the timestamp as the line prints it (`${sec}.${ns}`, ns in 9 digits) and reads it back (for a
    // safe integer, time / 1e9 never rounds up to the next second: the check states what the line needs)
    const sec = Math.floor(time / 1e9);
    const ns = time - sec * 1e9;
    if (!(ns >= 0 && ns < 1e9 && Number.isInteger(ns))) return TEXT;
    if (ev.use === OTHER) return OTHER;
    let body = '';
    if (ev.use === SWITCH) {
      if (!this.switchOf(r, ev, view)) return TEXT;
      if (!view) return SWITCH;
    } else {
      body = ev.body(r);
      if (!plainBody(body)) return TEXT;
    }
    this.line = {
      comm: fm.commOf(pid),
      pid,
      tgid: undefined,
      cpu,
      time: sec * 1e9 + ns,
      stamp: [String(sec), String(ns).padStart(9, '0')],
      event: ev.name,
      body,
    };
    return ev.use;
  }

  /** The last SWITCH read without a view: its pids. */
  prevPid = 0;
  nextPid = 0;

  /** The comm the last SWITCH read gives its previous task, or with `next` its next task. */
  switchComm(r: RecordBytes, next: boolean): string {
    const f = this.ev!.sw!;
    return this.fm.rd.str(r, next ? f.nextComm : f.prevComm);
  }

  /** Whether the sched_switch body reads back as printed; with `view`, `sw` is set, else the pids. */
  private switchOf(r: RecordBytes, ev: EventUse, view: boolean): boolean {
    const rd = this.fm.rd;
    const f = ev.sw!;
    const prevPid = rd.num(r, f.prevPid);
    const nextPid = rd.num(r, f.nextPid);
    if (!(prevPid >= 0 && nextPid >= 0 && plainInt(prevPid) && plainInt(nextPid))) return false;
    if (!(plainInt(rd.num(r, f.prevPrio)) && plainInt(rd.num(r, f.nextPrio)))) return false;
    const s = rd.num(r, f.prevState);
    let prevState = f.states.get(s);
    if (prevState === undefined && !f.states.has(s)) {
      const text = f.state(s);
      // `prev_state=(\S+)`
      prevState = /^\S+$/.test(text) && !/#P:\d/.test(text) ? text : undefined;
      if (f.states.size < 4096) f.states.set(s, prevState);
    }
    if (prevState === undefined) return false;
    if (!view) {
      // a comm without a space or '#' (the bytes; a control character reads as '?') holds neither key nor "#P:"
      if (rd.has(r, f.prevComm, 0x20, 0x23) && !plainBodyText(rd.str(r, f.prevComm), ' prev_pid=')) return false;
      if (rd.has(r, f.nextComm, 0x20, 0x23) && !plainBodyText(rd.str(r, f.nextComm), ' next_pid=')) return false;
      this.prevPid = prevPid;
      this.nextPid = nextPid;
      return true;
    }
    const prevComm = rd.str(r, f.prevComm);
    const nextComm = rd.str(r, f.nextComm);
    if (!plainBodyText(prevComm, ' prev_pid=') || !plainBodyText(nextComm, ' next_pid=')) return false;
    this.sw = { prevComm, prevPid, prevState, nextComm, nextPid };
    return true;
  }
}
