// The class at work: each student's labs started, stopped and reset through the placement,
// admitted by the queue (queue.ts), their state kept in the store, and what a student or the
// teacher sees of them. Answers at once; starts and stops finish in the background.
import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.ts';
import type { ClassFacts } from './access.ts';
import { durationText, idleCheckEveryMs, idleLabs } from './idle.ts';
import type { LoadedClass } from './load-class.ts';
import type { PlacedVm, Placement } from './placement.ts';
import { admit, placeInQueue, refuseStart, type Holding, type StartRequest } from './queue.ts';
import type { ClassStore, LabRow, LabState } from './store.ts';

export interface LabView {
  assignment: string;
  title: string;
  lab: string;
  state: LabState;
  error: string | null;
  /** Place in the start queue (1: next), or null when the lab is not waiting. */
  queue: number | null;
  vms: PlacedVm[];
  updated: number;
}

export interface ClassServiceOptions {
  loaded: LoadedClass;
  store: ClassStore;
  placement: Placement;
  /** What all running labs may add up to (limits.memory_budget, or the host's free memory). */
  budgetMiB: number;
  /** Labs that may boot at once (default: one per core, at least two); the rest wait their turn. */
  labsBootingAtOnce?: number;
  log?: (line: string) => void;
  /** The clock of the idle check (tests give their own). */
  now?: () => number;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class ClassService {
  readonly facts: ClassFacts;
  private readonly queue: StartRequest[] = [];
  /** Labs booting now, with their memory. */
  private readonly booting = new Map<string, Holding>();
  /** Each assignment's memory in MiB, from its compiled plan. */
  private readonly demand = new Map<string, number>();
  /** Starts and stops under way: awaited on shutdown and by tests. */
  private readonly pending = new Set<Promise<void>>();
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  /** Each lab's last input, traffic, visit or start (ms), and its traffic as last seen: the idle check's facts. */
  private readonly lastActive = new Map<string, number>();
  private readonly lastTraffic = new Map<string, number>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClassServiceOptions) {
    this.facts = { students: new Set(o.loaded.spec.roster.map((s) => s.id)), assignments: new Set(o.loaded.spec.assignments.map((a) => a.id)) };
    this.log = o.log ?? (() => {});
    this.now = o.now ?? Date.now;
  }

  get placement(): Placement {
    return this.o.placement;
  }

  get budgetMiB(): number {
    return this.o.budgetMiB;
  }

  /** Measures the assignments, then re-attaches to the class's labs that still run; the others
   *  (queued, booting or running when the server went away) are stopped and their leftovers removed. */
  async init(): Promise<void> {
    for (const a of this.o.loaded.spec.assignments) this.demand.set(a.id, await this.o.placement.demandMiB(this.source(a.id)));
    const placed = new Map(this.o.placement.list().map((p) => [p.name, p]));
    for (const row of this.o.store.labs()) {
      const here = placed.get(row.lab);
      if (here?.state === 'running') {
        // A paused lab stays paused (its VMs are still stopped) until its next visit.
        if (row.state !== 'running' && row.state !== 'paused') this.o.store.setLabState(row.student, row.assignment, 'running');
        this.log(`re-attached to ${row.lab} (${row.student}/${row.assignment})${row.state === 'paused' ? ', paused' : ''}`);
        continue;
      }
      if (here?.state === 'gone') await this.o.placement.stop(row.lab).catch((err: unknown) => this.log(`cleaning up ${row.lab}: ${message(err)}`));
      if (row.state !== 'stopped' && row.state !== 'failed') this.o.store.setLabState(row.student, row.assignment, 'stopped', 'the class server restarted');
    }
    const afterMs = this.o.loaded.spec.limits.idleAfterMs;
    const check = () => {
      try {
        this.checkIdle();
      } catch (err) {
        this.log(`idle check: ${message(err)}`);
      }
    };
    if (afterMs !== null) this.idleTimer = setInterval(check, idleCheckEveryMs(afterMs)).unref();
  }

  /** Stops the idle check (the labs keep running, or paused). */
  close(): void {
    clearInterval(this.idleTimer);
  }

  private source(assignment: string): string {
    return this.o.loaded.labPaths.get(assignment)!;
  }

  private title(assignment: string): string {
    return this.o.loaded.spec.assignments.find((a) => a.id === assignment)?.title ?? assignment;
  }

  /** A lab as its student sees it; a lab that stopped on its own since is marked so. */
  labView(student: string, assignment: string): LabView {
    let row = this.o.store.lab(student, assignment);
    const placed = this.o.placement.status(row.lab);
    if ((row.state === 'running' || row.state === 'paused') && placed.state !== 'running') {
      this.o.store.setLabState(student, assignment, 'stopped', 'the lab stopped by itself');
      row = this.o.store.lab(student, assignment);
    }
    return {
      assignment,
      title: this.title(assignment),
      lab: row.lab,
      state: row.state,
      error: row.error,
      queue: placeInQueue(this.queue, row.lab),
      vms: placed.state === 'running' ? placed.vms : [],
      updated: row.updated,
    };
  }

  studentView(student: string) {
    const name = this.o.store.students().find((s) => s.id === student)?.name ?? student;
    return { student: { id: student, name }, assignments: this.o.loaded.spec.assignments.map((a) => this.labView(student, a.id)) };
  }

  classView() {
    const activity = this.o.store.lastActivity();
    return {
      name: this.o.loaded.spec.name,
      assignments: this.o.loaded.spec.assignments.map((a) => ({ id: a.id, title: a.title })),
      budgetMiB: this.o.budgetMiB,
      usedMiB: this.holding().reduce((n, h) => n + h.memoryMiB, 0),
      queued: this.queue.length,
      students: this.o.store.students().map((s) => ({
        id: s.id,
        name: s.name,
        lastActivity: activity.get(`student ${s.id}`) ?? null,
        labs: this.o.loaded.spec.assignments.map((a) => this.labView(s.id, a.id)),
      })),
    };
  }

  /** Labs that hold memory: running (per the store) and booting. */
  private holding(): Holding[] {
    const running = this.o.store
      .labs()
      .filter((r) => r.state === 'running' || r.state === 'paused' || r.state === 'stopping')
      .map((r) => ({ lab: r.lab, student: r.student, memoryMiB: this.demand.get(r.assignment) ?? 0 }));
    return [...running, ...this.booting.values()];
  }

  /** Queues the lab's start (refused at once past the student's limits); answers with it `starting`. */
  start(student: string, assignment: string, actor: string): LabView {
    let row = this.o.store.lab(student, assignment);
    if (row.state === 'paused') {
      this.resume(row, actor);
      row = this.o.store.lab(student, assignment);
    }
    if (row.state === 'starting' || row.state === 'running' || row.state === 'paused') return this.labView(student, assignment);
    if (row.state === 'stopping') throw new UsageError(`lab ${assignment} is stopping; start it again when it has stopped`);
    this.enqueue(row, actor);
    return this.labView(student, assignment);
  }

  private enqueue(row: LabRow, actor: string): void {
    const request: StartRequest = { lab: row.lab, student: row.student, memoryMiB: this.demand.get(row.assignment) ?? 0 };
    const mine = [...this.holding(), ...this.queue].filter((h) => h.student === row.student && h.lab !== row.lab);
    const refusal = refuseStart(request, mine, this.o.loaded.spec.limits, this.o.budgetMiB);
    if (refusal) {
      this.o.store.event({ actor, action: 'lab start', target: `${row.student}/${row.assignment}`, outcome: 'refused', detail: refusal });
      throw new UsageError(refusal);
    }
    this.o.store.setLabState(row.student, row.assignment, 'starting');
    this.o.store.event({ actor, action: 'lab start', target: `${row.student}/${row.assignment}`, outcome: 'ok', detail: 'queued' });
    this.queue.push(request);
    this.pump();
  }

  /** Starts every lab at the head of the queue that fits the budget now. */
  private pump(): void {
    const slots = (this.o.labsBootingAtOnce ?? Math.max(2, availableParallelism())) - this.booting.size;
    for (const request of admit(this.queue, this.holding(), this.o.budgetMiB, slots)) {
      this.queue.splice(this.queue.indexOf(request), 1);
      this.booting.set(request.lab, request);
      const row = this.o.store.labs().find((r) => r.lab === request.lab)!;
      this.track(
        this.o.placement
          .start({ name: row.lab, source: this.source(row.assignment) })
          .then(() => {
            this.lastActive.set(row.lab, this.now());
            this.o.store.setLabState(row.student, row.assignment, 'running');
          })
          .catch((err: unknown) => {
            this.log(`lab ${row.lab} (${row.student}/${row.assignment}) failed to start: ${message(err)}`);
            this.o.store.setLabState(row.student, row.assignment, 'failed', message(err));
            this.o.store.event({ actor: 'server', action: 'lab start', target: `${row.student}/${row.assignment}`, outcome: 'failed', detail: message(err) });
          })
          .finally(() => {
            this.booting.delete(request.lab);
            this.pump();
          }),
      );
    }
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Stops the lab (a queued start is dropped); answers with it `stopping`, or `stopped`. */
  stop(student: string, assignment: string, actor: string): LabView {
    this.halt(student, assignment, actor, 'lab stop', false);
    return this.labView(student, assignment);
  }

  /** Stops the lab, drops what it kept, and starts a fresh copy of the assignment. */
  reset(student: string, assignment: string, actor: string): LabView {
    this.halt(student, assignment, actor, 'lab reset', true);
    return this.labView(student, assignment);
  }

  private halt(student: string, assignment: string, actor: string, action: string, restart: boolean, why: string | null = null): void {
    const row = this.o.store.lab(student, assignment);
    const target = `${student}/${assignment}`;
    if (this.booting.has(row.lab) || row.state === 'stopping') {
      this.o.store.event({ actor, action, target, outcome: 'refused', detail: `the lab is ${row.state}` });
      throw new UsageError(`lab ${assignment} is ${this.booting.has(row.lab) ? 'booting' : 'stopping'}; try again when it is up`);
    }
    // A frozen VM would not hear the halt.
    if (row.state === 'paused' && this.o.placement.status(row.lab).state === 'running') this.o.placement.resume(row.lab);
    const queued = placeInQueue(this.queue, row.lab);
    if (queued !== null) this.queue.splice(queued - 1, 1);
    this.o.store.event({ actor, action, target, outcome: 'ok', detail: why ?? '' });
    this.o.store.setLabState(student, assignment, 'stopping');
    this.track(
      this.o.placement
        .stop(row.lab, { fresh: restart })
        .then(() => {
          this.o.store.setLabState(student, assignment, 'stopped', why);
          if (restart) this.enqueue(this.o.store.lab(student, assignment), actor);
        })
        .catch((err: unknown) => {
          this.log(`lab ${row.lab} (${target}): ${action}: ${message(err)}`);
          this.o.store.setLabState(student, assignment, 'failed', message(err));
        })
        // Its memory is free now: the next labs in the queue may fit.
        .finally(() => this.pump()),
    );
  }

  /** Someone typed into the lab, or opened it: it is active now, and a paused lab resumes. */
  visit(lab: string, actor: string): void {
    const now = this.now();
    const last = this.lastActive.get(lab);
    this.lastActive.set(lab, now);
    // Keys come many a second: a lab active less than a second ago cannot have been paused since
    // (pausing takes idle_after, 1 s at least), so the store is not read for every key.
    if (last !== undefined && now - last < 1000) return;
    const row = this.o.store.labs().find((r) => r.lab === lab);
    if (row?.state === 'paused') this.resume(row, actor);
  }

  private resume(row: LabRow, actor: string): void {
    // Its supervisor died while it was paused: nothing to resume, the lab is stopped.
    if (this.o.placement.status(row.lab).state !== 'running') return void this.labView(row.student, row.assignment);
    this.o.placement.resume(row.lab);
    this.lastActive.set(row.lab, this.now());
    this.o.store.setLabState(row.student, row.assignment, 'running');
    this.o.store.event({ actor, action: 'lab resume', target: `${row.student}/${row.assignment}`, outcome: 'ok', detail: '' });
  }

  /** Pauses or stops each running lab idle for the class's limits.idle_after (idle.ts). */
  checkIdle(): void {
    const now = this.now();
    const running = this.o.store.labs().filter((r) => r.state === 'running' && !this.booting.has(r.lab));
    for (const row of running) {
      let traffic: number;
      try {
        traffic = this.o.placement.trafficBytes(row.lab);
      } catch (err) {
        this.log(`lab ${row.lab}: reading its traffic: ${message(err)}`);
        continue;
      }
      const seen = this.lastTraffic.get(row.lab);
      if ((seen !== undefined && traffic !== seen) || !this.lastActive.has(row.lab)) this.lastActive.set(row.lab, now);
      this.lastTraffic.set(row.lab, traffic);
    }
    const activity = running.filter((r) => this.lastActive.has(r.lab)).map((r) => ({ lab: r.lab, state: r.state, lastActive: this.lastActive.get(r.lab)! }));
    for (const idle of idleLabs(activity, now, { afterMs: this.o.loaded.spec.limits.idleAfterMs, action: this.o.loaded.spec.limits.idleAction })) {
      const row = running.find((r) => r.lab === idle.lab)!;
      const detail = `idle for ${durationText(idle.idleMs)}`;
      try {
        if (idle.action === 'stop') {
          this.halt(row.student, row.assignment, 'server', 'lab stop', false, 'idle');
          continue;
        }
        this.o.placement.pause(row.lab);
        this.o.store.setLabState(row.student, row.assignment, 'paused');
        this.o.store.event({ actor: 'server', action: 'lab pause', target: `${row.student}/${row.assignment}`, outcome: 'ok', detail });
      } catch (err) {
        this.log(`lab ${row.lab}: ${idle.action} when idle: ${message(err)}`);
      }
    }
  }

  /** Resolves when no start or stop is under way. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
