// Idle labs (src/class/idle.ts and the class service's idle check) on a fake clock and a stand-in
// placement: a running lab with no input, visit or traffic for limits.idle_after is paused (or
// stopped), a visit resumes it, and a restarted service keeps a paused lab paused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ClassLimits } from '../../src/class/class-file.ts';
import { durationText, idleCheckEveryMs, idleLabs } from '../../src/class/idle.ts';
import type { LabRef, PlacedLab, Placement } from '../../src/class/placement.ts';
import { ClassService } from '../../src/class/service.ts';
import { ClassStore } from '../../src/class/store.ts';
import { testClass } from './class-fixtures.ts';

describe('idle labs, the decision', () => {
  const policy = { afterMs: 60_000, action: 'pause' as const };
  it('picks running labs quiet for the idle time, and nothing when idling is off', () => {
    const labs = [
      { lab: 'quiet', state: 'running' as const, lastActive: 0 },
      { lab: 'busy', state: 'running' as const, lastActive: 30_000 },
      { lab: 'already', state: 'paused' as const, lastActive: 0 },
      { lab: 'off', state: 'stopped' as const, lastActive: 0 },
    ];
    assert.deepEqual(idleLabs(labs, 59_999, policy), []);
    assert.deepEqual(idleLabs(labs, 60_000, policy), [{ lab: 'quiet', action: 'pause', idleMs: 60_000 }]);
    assert.deepEqual(
      idleLabs(labs, 90_000, { ...policy, action: 'stop' }).map((l) => [l.lab, l.action]),
      [
        ['quiet', 'stop'],
        ['busy', 'stop'],
      ],
    );
    assert.deepEqual(idleLabs(labs, 10 ** 12, { afterMs: null, action: 'pause' }), []);
  });

  it('looks often enough for short idle times, and not too often for long ones', () => {
    assert.equal(idleCheckEveryMs(3000), 1000);
    assert.equal(idleCheckEveryMs(60_000), 6000);
    assert.equal(idleCheckEveryMs(3_600_000), 30_000);
    assert.equal(durationText(3000), '3s');
    assert.equal(durationText(45 * 60_000), '45m');
  });
});

class QuietPlacement implements Placement {
  readonly running = new Set<string>();
  readonly paused = new Set<string>();
  traffic = 0;
  demandMiB = () => Promise.resolve(256);
  start(lab: LabRef): Promise<void> {
    this.running.add(lab.name);
    return Promise.resolve();
  }
  stop(name: string): Promise<void> {
    assert.ok(!this.paused.has(name), 'a paused lab is resumed before it is stopped');
    this.running.delete(name);
    return Promise.resolve();
  }
  status = (name: string): PlacedLab => ({ name, state: this.running.has(name) ? 'running' : 'absent', vms: [] });
  list = () => [...this.running].map((name) => this.status(name));
  runDir = () => null;
  pause(name: string): void {
    this.paused.add(name);
  }
  resume(name: string): void {
    this.paused.delete(name);
  }
  trafficBytes = () => this.traffic;
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('idle labs, the class service', () => {
  const roster = [{ id: 's1', name: 's1' }];
  const loaded = (limits: Partial<ClassLimits>) => testClass({ roster, limits: { idleAfterMs: 60_000, ...limits } });
  const setup = async (limits: Partial<ClassLimits> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'umlab-class-idle-'));
    dirs.push(dir);
    const store = new ClassStore(join(dir, 'class.db'));
    store.syncRoster(roster);
    const clock = { now: 1_000_000 };
    const placement = new QuietPlacement();
    const service = new ClassService({ loaded: loaded(limits), store, placement, budgetMiB: 1024, now: () => clock.now });
    await service.init();
    service.start('s1', 'a1', 'student s1');
    await tick();
    await tick();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    return { store, placement, service, clock, lab: store.lab('s1', 'a1').lab, dir };
  };

  it('pauses a lab quiet for idle_after, keeps its memory held, and resumes it on a visit', async () => {
    const { store, placement, service, clock, lab } = await setup();
    clock.now += 59_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    placement.traffic = 500; // frames crossed a link: the lab is active again
    clock.now += 30_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    clock.now += 60_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'paused');
    assert.ok(placement.paused.has(lab));
    assert.deepEqual({ ...store.events(1)[0], at: 0 }, { at: 0, actor: 'server', action: 'lab pause', target: 's1/a1', outcome: 'ok', detail: 'idle for 60s' });
    assert.equal(service.classView().usedMiB, 256, 'a paused lab still holds its memory');
    service.visit(lab, 'student s1');
    assert.equal(service.labView('s1', 'a1').state, 'running');
    assert.ok(!placement.paused.has(lab));
    assert.equal(store.events(1)[0].action, 'lab resume');
    clock.now += 59_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'running', 'the visit counts as activity');
    service.close();
  });

  it('stops an idle lab with idle_action: stop, as "stopped (idle)"', async () => {
    const { placement, service, clock, lab } = await setup({ idleAction: 'stop' });
    clock.now += 61_000;
    service.checkIdle();
    await service.settled();
    const view = service.labView('s1', 'a1');
    assert.deepEqual([view.state, view.error], ['stopped', 'idle']);
    assert.ok(!placement.running.has(lab));
    service.close();
  });

  it('never idles with idle_after off; a paused lab is stopped or restarted only after it resumes', async () => {
    const off = await setup({ idleAfterMs: null });
    off.clock.now += 10 ** 9;
    off.service.checkIdle();
    assert.equal(off.service.labView('s1', 'a1').state, 'running');
    const { placement, service, clock, lab } = await setup();
    clock.now += 61_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'paused');
    service.stop('s1', 'a1', 'student s1'); // QuietPlacement.stop asserts it was resumed first
    await service.settled();
    assert.equal(service.labView('s1', 'a1').state, 'stopped');
    assert.ok(!placement.paused.has(lab) && !placement.running.has(lab));
    service.close();
  });

  it('marks a paused lab whose VMs went away stopped on the next visit, and a start starts it afresh', async () => {
    const { placement, service, clock, lab } = await setup();
    clock.now += 61_000;
    service.checkIdle();
    assert.equal(service.labView('s1', 'a1').state, 'paused');
    placement.running.delete(lab); // its supervisor was killed
    placement.paused.delete(lab);
    service.visit(lab, 'student s1');
    assert.deepEqual([service.labView('s1', 'a1').state, service.labView('s1', 'a1').error], ['stopped', 'the lab stopped by itself']);
    assert.equal(service.start('s1', 'a1', 'student s1').state, 'starting');
    await service.settled();
    assert.equal(service.labView('s1', 'a1').state, 'running');
    service.close();
  });

  it('keeps a paused lab paused across a restart of the service, and a start resumes it', async () => {
    const { store, placement, service, clock, lab } = await setup();
    clock.now += 61_000;
    service.checkIdle();
    service.close();
    const again = new ClassService({ loaded: loaded({}), store, placement, budgetMiB: 1024, now: () => clock.now });
    await again.init();
    assert.equal(again.labView('s1', 'a1').state, 'paused');
    assert.ok(placement.paused.has(lab));
    assert.equal(again.start('s1', 'a1', 'student s1').state, 'running');
    assert.ok(!placement.paused.has(lab));
    again.close();
  });
});
