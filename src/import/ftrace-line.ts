/**
 * Parsing of ftrace text lines as printed by the kernel's `trace` file, `trace-cmd report` and
 * Android systrace: `comm-pid [(tgid)] [cpu] [flags] seconds.micros: event: body`.
 */

/** The common prefix of an ftrace line. */
export interface FtraceLine {
  comm: string;
  pid: number;
  /** TGID column, when present and known (`(-----)` means unknown). */
  tgid?: number;
  cpu: number;
  /** Timestamp in ns. */
  time: number;
  /** The timestamp's seconds and fraction digits as the line prints them (the `src` of what it imports). */
  stamp: [seconds: string, fraction: string];
  event: string;
  body: string;
}

const LINE_RE = /^\s*(.+?)-(\d+)\s+(?:\(\s*([-\d]+)\s*\)\s+)?\[(\d+)\]\s+(?:([.a-zA-Z0-9]{4,5})\s+)?(\d+)\.(\d+):\s+([^:\s]+):\s?(.*)$/;

/**
 * 1-based columns of the pid, TGID, CPU, timestamp and body of an ftrace event line (for error
 * messages; undefined when the line is not one).
 */
export function ftraceColumns(line: string): { pid: number; tgid: number; cpu: number; time: number; body: number } | undefined {
  const m = new RegExp(LINE_RE.source, 'd').exec(line);
  const at = (g: number) => (m?.indices?.[g]?.[0] ?? 0) + 1;
  return m ? { pid: at(2), tgid: at(3), cpu: at(4), time: at(6), body: at(9) } : undefined;
}

/** Parse the common prefix; undefined when the line is not an ftrace event line. */
export function parseFtraceLine(line: string): FtraceLine | undefined {
  const m = LINE_RE.exec(line);
  if (!m) return undefined;
  const tg = m[3];
  return {
    comm: m[1]!,
    pid: Number(m[2]),
    tgid: tg !== undefined && /^\d+$/.test(tg) ? Number(tg) : undefined,
    cpu: Number(m[4]),
    time: Number(m[6]) * 1e9 + Number(m[7]!.padEnd(9, '0').slice(0, 9)),
    stamp: [m[6]!, m[7]!],
    event: m[8]!,
    body: m[9]!,
  };
}

/** Events a CPU's ring buffer lost, as a recording says it. */
export interface LostEvents {
  cpu: number;
  /** How many; undefined when the recording does not know. */
  count?: number;
}

const LOST_RE = /^\s*CPU:(\d+) \[(?:LOST (\d+) EVENTS|LOST EVENTS|(\d+) EVENTS DROPPED|EVENTS DROPPED)\]\s*$/;

/**
 * A line saying that events were lost (the writer overran the ring buffer): the kernel's `trace`
 * and `trace_pipe` print `CPU:%d [LOST %lu EVENTS]` (`CPU:%d [LOST EVENTS]` when the count is not
 * known; kernel/trace/trace.c `print_trace_line`), `trace-cmd report` prints `CPU:%d [%lld EVENTS
 * DROPPED]` or `CPU:%d [EVENTS DROPPED]` (trace-read.c, from kbuffer_missed_events); undefined for
 * any other line.
 */
export function parseLostEvents(line: string): LostEvents | undefined {
  const m = LOST_RE.exec(line);
  if (!m) return undefined;
  const n = m[2] ?? m[3];
  return { cpu: Number(m[1]), count: n === undefined ? undefined : Number(n) };
}

/** A parsed `sched_switch` body. */
export interface SchedSwitch {
  prevComm: string;
  prevPid: number;
  prevState: string;
  nextComm: string;
  nextPid: number;
}

const RAW_RE =
  /^\s*prev_comm=(.*?) prev_pid=(\d+) prev_prio=(-?\d+) prev_state=(\S+)(?: ==>)? next_comm=(.*?) next_pid=(\d+) next_prio=(-?\d+)\s*$/;
const PLUGIN_RE = /^\s*(.*):(\d+) \[(-?\d+)\] (\S+) ==> (.*):(\d+) \[(-?\d+)\]\s*$/;

/**
 * Parse a `sched_switch` body in the raw-field form (`prev_comm=... prev_state=S ==> next_comm=...`,
 * with or without `==>`, state as letters or an integer) or the trace-cmd plugin form
 * (`comm:pid [prio] S ==> comm:pid [prio]`; comm may itself contain ':', the pid is after the last one).
 */
export function parseSchedSwitch(body: string): SchedSwitch | undefined {
  let m = RAW_RE.exec(body);
  if (m) return { prevComm: m[1]!, prevPid: Number(m[2]), prevState: m[4]!, nextComm: m[5]!, nextPid: Number(m[6]) };
  m = PLUGIN_RE.exec(body);
  if (m) return { prevComm: m[1]!, prevPid: Number(m[2]), prevState: m[4]!, nextComm: m[5]!, nextPid: Number(m[6]) };
  return undefined;
}

/**
 * Whether `prev_state` says the task is dead: letters X (EXIT_DEAD), x (TASK_DEAD), Z (EXIT_ZOMBIE:
 * `exit_mm` already ran); as an integer, 16 (EXIT_DEAD), 32 (EXIT_ZOMBIE) or 64 (TASK_DEAD before
 * v4.14; in v4.14+ numbering 64 is TASK_PARKED, which only kernel threads use). Flags at or above
 * TASK_STATE_MAX (preempted, "R+") are masked off.
 */
export function isExitState(state: string): boolean {
  let dead = exitStates.get(state);
  if (dead === undefined) {
    dead = /^\d+$/.test(state) ? (Number(state) & 0x70) !== 0 && Number(state) < 0x800 : /[XxZ]/.test(state);
    remember(exitStates, state, dead);
  }
  return dead;
}

/** Answers of {@link isExitState} and {@link isKernelThread} by string (a recording has few states and comms; every switch asks). */
const exitStates = new Map<string, boolean>();
const kernelNames = new Map<string, boolean>();

/** Keep an answer (the cache starts again past 2^16 strings: a damaged recording may have a name per event). */
function remember(cache: Map<string, boolean>, key: string, value: boolean): void {
  if (cache.size >= 65536) cache.clear();
  cache.set(key, value);
}

/**
 * Names of kernel threads, for tasks that no event of the recording decided. Only names the kernel
 * itself gives its threads (task->comm: at most TASK_COMM_LEN - 1 = 15 characters, longer names are
 * cut), each anchored: a prefix only where the kernel appends a CPU, device or instance
 * (`kworker/%s`, `irq/%d-%s`), else the whole name. A user program sharing a prefix with one
 * (`thermald`, `kvm` of qemu-kvm, `ufsd`, `mmcli`, `spidev_test`) stays a user task.
 */
const KTHREAD_NAMES: readonly RegExp[] = [
  /swapper(\/\d+)?$|<idle>$/, // the idle task (init_idle: "swapper/%d")
  /kthreadd$/,
  /kworker\//, // kernel/workqueue.c: workers "kworker/%d:%d", "kworker/u%d:%d"; rescuers "kworker/R-%s" from v6.9
  /(ksoftirqd|migration|cpuhp|idle_inject|watchdog|ktimers|irq_work)\/\d+$/, // per-CPU smpboot threads (watchdog/ before v4.14, ktimers/ irq_work/ on PREEMPT_RT)
  /rcu_(preempt|sched|bh|gp|par_gp|tasks_[a-z_]*|exp_[a-z_]*)$|rcu[bc]\/\d+$|rcuo[bgps]\/\d+$/, // kernel/rcu
  /irq\/\d+-/, // kernel/irq/manage.c: threaded handlers "irq/%d-%s", "irq/%d-s-%s"
  /kswapd\d+(:\d+)?$|kcompactd\d+$|khugepaged$|ksmd$|oom_reaper$|kdamond\.\d+$|kmemleak$/, // mm/
  /kdevtmpfs$|kauditd$|khungtaskd$|psimon$|hwrng$|khvcd$|xenwatch$|xenbus$|pr\//,
  /jbd2\/|kmmpd-|ext4lazyinit$|xfsaild\/|xfs-[a-z]+\/|f2fs_(ckpt|discard|gc|flush)-|btrfs-(cleaner|transacti)$/, // file systems
  /usb-storage$|khubd$|scsi_eh_\d+$|mmcqd\/\d+|loop\d+$|spi\d+$|card\d+-crtc\d+$|napi\/|kvm-pit\/\d+$/, // drivers (spi%d: the SPI message pump)
  /sugov:\d+$/, // kernel/sched/cpufreq_schedutil.c
  /kdmflush(\/|$)|kcryptd(_io)?(\/|$)|kaluad$|kmpathd$|kmpath_rdacd$|kmpath_handlerd$|dm_bufio_cache$/, // device mapper
  // workqueue rescuers (WQ_MEM_RECLAIM), named after their workqueue before v6.9
  /kblockd$|writeback$|kthrotld$|kintegrityd$|bioset$|crypto$|cryptd$|deferwq$|edac-poller$|ipv6_addrconf$|netns$|vmstat$|kstrp$/,
  /kpsmoused$|cfg80211$|ata_sff$|md$|mld$|zswap-shrink$|blkcg_punt_bio$|ext4-rsv-conver$|xfsalloc$|xfs_mru_cache$|nfsiod$|rpciod$/,
  /xprtiod$|kacpid$|kacpi_notify$|kacpi_hotplug$|acpi_thermal_pm$|charger_manager$|scsi_tmf_\d+$|hci\d+$|ufs_(clk_gating|clkscaling)_\d*$/,
  /.+[-_]wq([-_]?\d+)?$/, // ... and every workqueue named *-wq / *_wq (nvme-wq, mm_percpu_wq, devfreq_wq, ufs_eh_wq_0)
  /dhd_dpc$|mdss_fb\d+$|smem_native_[a-z]+$/, // out-of-tree Android kernel threads of the shipped recordings (exact names)
];

const KTHREAD_RE = new RegExp(`^(?:${KTHREAD_NAMES.map((r) => r.source).join('|')})`);

/** Heuristic: the comm of a kernel thread (it runs in lazy-TLB mode and never switches the user mm). */
export function isKernelThread(pid: number, comm: string): boolean {
  if (pid === 0 || pid === 2) return true;
  let kernel = kernelNames.get(comm);
  if (kernel === undefined) remember(kernelNames, comm, (kernel = KTHREAD_RE.test(comm)));
  return kernel;
}
