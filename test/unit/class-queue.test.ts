// Admission of lab starts (queue.ts) and the class service over a stand-in placement: per-student
// limits refuse at once, the memory budget makes starts wait in order with their place shown,
// and a restarted service re-attaches to the labs still running and marks the rest stopped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LabRef, PlacedLab, Placement } from '../../src/class/placement.ts';
import { admit, placeInQueue, refuseStart } from '../../src/class/queue.ts';
import { ClassService } from '../../src/class/service.ts';
import { ClassStore } from '../../src/class/store.ts';
import { UsageError } from '../../src/errors.ts';
import { NO_LIMITS, testClass } from './class-fixtures.ts';

const limits = NO_LIMITS;

describe('start queue', () => {
  it('admits in order while the budget lasts, and stops at the first that does not fit', () => {
    const queue = [
      { lab: 'a', student: 's1', memoryMiB: 300 },
      { lab: 'b', student: 's2', memoryMiB: 500 },
      { lab: 'c', student: 's3', memoryMiB: 100 },
    ];
    assert.deepEqual(
      admit(queue, [], 1000).map((r) => r.lab),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      admit(queue, [{ lab: 'x', student: 's9', memoryMiB: 400 }], 1000).map((r) => r.lab),
      ['a'],
      'c would fit, but b came first',
    );
    assert.deepEqual(
      admit(queue, [], 1000, 2).map((r) => r.lab),
      ['a', 'b'],
      'two labs may begin booting now: c waits though it fits',
    );
    assert.deepEqual(admit(queue, [], 1000, 0), []);
    assert.equal(placeInQueue(queue, 'b'), 2);
    assert.equal(placeInQueue(queue, 'z'), null);
  });

  it("refuses past a student's own limits and past the whole budget", () => {
    const request = { lab: 'b', student: 's1', memoryMiB: 256 };
    assert.equal(refuseStart(request, [], limits, 1000), null);
    assert.match(refuseStart(request, [{ lab: 'a', student: 's1', memoryMiB: 256 }], limits, 1000)!, /1 lab running at once: stop a first/);
    const two = { ...limits, runningLabsPerStudent: 2, memoryPerStudentMiB: 400 };
    assert.match(refuseStart(request, [{ lab: 'a', student: 's1', memoryMiB: 256 }], two, 1000)!, /more than the 400 MiB each student may use/);
    assert.equal(refuseStart(request, [{ lab: 'a', student: 's1', memoryMiB: 100 }], two, 1000), null);
    assert.match(refuseStart({ ...request, memoryMiB: 2000 }, [], limits, 1000)!, /more than the class's whole memory budget/);
  });
});

/** Labs "boot" until the test lets them. */
class FakePlacement implements Placement {
  readonly running = new Set<string>();
  readonly booting = new Map<string, () => void>();
  stops: string[] = [];
  demandMiB(): Promise<number> {
    return Promise.resolve(256);
  }
  start(lab: LabRef): Promise<void> {
    return new Promise((resolve) => this.booting.set(lab.name, () => (this.running.add(lab.name), this.booting.delete(lab.name), resolve())));
  }
  stop(name: string): Promise<void> {
    this.stops.push(name);
    this.running.delete(name);
    return Promise.resolve();
  }
  status(name: string): PlacedLab {
    return { name, state: this.running.has(name) ? 'running' : 'absent', vms: [] };
  }
  list(): PlacedLab[] {
    return [...this.running].map((name) => this.status(name));
  }
  runDir(): string | null {
    return null;
  }
  readonly paused = new Set<string>();
  traffic = 0;
  pause(name: string): void {
    this.paused.add(name);
  }
  resume(name: string): void {
    this.paused.delete(name);
  }
  trafficBytes(): number {
    return this.traffic;
  }
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('class service', () => {
  const roster = ['s1', 's2', 's3'].map((id) => ({ id, name: id }));
  const loaded = testClass({ roster, assignments: ['a1', 'a2'] });
  const freshStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'umlab-class-service-'));
    dirs.push(dir);
    const store = new ClassStore(join(dir, 'class.db'));
    store.syncRoster(roster);
    return store;
  };

  it('queues starts past the budget with their place, and starts them as memory frees', async () => {
    const store = freshStore();
    const placement = new FakePlacement();
    const service = new ClassService({ loaded, store, placement, budgetMiB: 512 });
    await service.init();
    assert.equal(service.start('s1', 'a1', 'student s1').queue, null);
    assert.equal(service.start('s2', 'a1', 'student s2').queue, null);
    const third = service.start('s3', 'a1', 'student s3');
    assert.equal(third.state, 'starting');
    assert.equal(third.queue, 1, 'two labs of 256 MiB fill 512: the third waits first in line');
    assert.deepEqual([...placement.booting.keys()].length, 2);
    assert.throws(() => service.start('s1', 'a2', 'student s1'), UsageError, 'one running lab per student');
    placement.booting.get(store.lab('s1', 'a1').lab)!();
    await tick();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    service.stop('s1', 'a1', 'student s1');
    await tick();
    await tick();
    assert.equal(service.labView('s1', 'a1').state, 'stopped');
    assert.equal(service.labView('s3', 'a1').queue, null, 'the freed memory let the waiting lab start');
    assert.ok(placement.booting.has(store.lab('s3', 'a1').lab));
    for (const done of [...placement.booting.values()]) done();
    await service.settled();
    assert.deepEqual(
      service.classView().students.map((s) => s.labs[0].state),
      ['stopped', 'running', 'running'],
    );
  });

  it('on a restart re-attaches to running labs and marks the others stopped', async () => {
    const store = freshStore();
    const placement = new FakePlacement();
    store.setLabState('s1', 'a1', 'running');
    store.setLabState('s2', 'a1', 'starting');
    store.setLabState('s3', 'a1', 'running');
    placement.running.add(store.lab('s1', 'a1').lab);
    const service = new ClassService({ loaded, store, placement, budgetMiB: 4096 });
    await service.init();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    assert.equal(service.labView('s2', 'a1').state, 'stopped');
    const gone = service.labView('s3', 'a1');
    assert.deepEqual([gone.state, gone.error], ['stopped', 'the class server restarted']);
  });

  it('marks a lab that stopped behind its back, and lets it start again', async () => {
    const store = freshStore();
    const placement = new FakePlacement();
    const service = new ClassService({ loaded, store, placement, budgetMiB: 4096 });
    await service.init();
    service.start('s1', 'a1', 'student s1');
    placement.booting.get(store.lab('s1', 'a1').lab)!();
    await service.settled();
    placement.running.clear();
    assert.deepEqual([service.labView('s1', 'a1').state, service.labView('s1', 'a1').error], ['stopped', 'the lab stopped by itself']);
    assert.equal(service.start('s1', 'a1', 'student s1').state, 'starting');
  });
});
