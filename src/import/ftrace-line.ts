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
  if (/^\d+$/.test(state)) return (Number(state) & 0x70) !== 0 && Number(state) < 0x800;
  return /[XxZ]/.test(state);
}

const KTHREAD_RE =
  /^(swapper|<idle>|kworker\/|ksoftirqd\/|migration\/|rcu_|rcuo|rcub\/|rcuop|watchdog\/|kthreadd$|irq\/|cpuhp\/|khugepaged|kswapd|jbd2\/|mmcqd\/|kblockd|writeback|kcompactd|oom_reaper|scsi_|kdevtmpfs|bioset|kauditd|khungtaskd|ksmd|kintegrityd|crypto$|devfreq_wq|kthrotld|ipv6_addrconf|deferwq|ext4-rsv|sugov:|kgsl|mdss_|loop\d|dhd_dpc|host_sp|inv_irq|nvmap|hwrng|kpsmoused|edac-poller|dm_bufio|ufs|rpmsg|netns$|vmstat$|mm_percpu_wq|kstrp$|hang_detect|smem_native|spi\d|cfinteractive|cfg80211$|hci\d|kvm|khubd|usb-storage|f2fs_|ksdioirqd|mmc|cpuidle|cpufreq|therm|kthermal)/;

/** Heuristic: the comm of a kernel thread (it runs in lazy-TLB mode and never switches the user mm). */
export function isKernelThread(pid: number, comm: string): boolean {
  return pid === 0 || pid === 2 || KTHREAD_RE.test(comm);
}
