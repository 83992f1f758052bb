/**
 * The task bookkeeping every generated workload needs: live tasks, their mms, CPUs' current tasks,
 * a seeded clock.
 */
import type { GenEvent, GenOptions } from './types.js';
import { Rng } from '../util/rng.js';

/** A live task pool with the bookkeeping every profile needs. */
export class World {
  readonly rng: Rng;
  time = 0;
  nextTask = 1;
  nextMm = 1;
  /** Live tasks and their mm labels. */
  live: number[] = [];
  mmOf = new Map<number, string>();
  usersOf = new Map<string, number>();
  running: number[];
  constructor(public o: GenOptions) {
    this.rng = new Rng(o.seed);
    this.running = new Array(o.cpus).fill(0);
  }
  tick(): number {
    this.time += this.rng.int(200, 20_000);
    return this.time;
  }
  fork(mm?: string): GenEvent {
    const task = this.nextTask++;
    const label = mm ?? `m${this.nextMm++}`;
    this.live.push(task);
    this.mmOf.set(task, label);
    this.usersOf.set(label, (this.usersOf.get(label) ?? 0) + 1);
    return { time: this.tick(), kind: 'fork', task, mm: label };
  }
  exec(task: number): GenEvent {
    const old = this.mmOf.get(task)!;
    this.dropUser(old);
    const label = `m${this.nextMm++}`;
    this.mmOf.set(task, label);
    this.usersOf.set(label, 1);
    return { time: this.tick(), kind: 'exec', task, mm: label };
  }
  exit(i: number): GenEvent {
    const task = this.live[i]!;
    this.live[i] = this.live[this.live.length - 1]!;
    this.live.pop();
    this.dropUser(this.mmOf.get(task)!);
    this.mmOf.delete(task);
    for (let c = 0; c < this.running.length; c++) if (this.running[c] === task) this.running[c] = 0;
    return { time: this.tick(), kind: 'exit', task };
  }
  private dropUser(mm: string): void {
    const n = this.usersOf.get(mm)! - 1;
    if (n === 0) this.usersOf.delete(mm);
    else this.usersOf.set(mm, n);
  }
  schedule(cpu: number, task: number): GenEvent {
    this.running[cpu] = task;
    return { time: this.tick(), kind: 'schedule', cpu, task };
  }
  randomSchedule(idle = 0.1): GenEvent {
    const cpu = this.rng.int(0, this.o.cpus - 1);
    const task = this.live.length === 0 || this.rng.chance(idle) ? 0 : this.rng.pick(this.live);
    return this.schedule(cpu, task);
  }
}
