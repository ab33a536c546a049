// The supervisor without booting: a Supervisor on a plan whose VMs are the fake UML of
// test/fixtures/fake-uml.mjs (no namespaces, no host view, a stand-in management console),
// driven over its real control socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type SupervisorOptions } from '../../src/runtime/supervisor.ts';
import { ask, jsonLines, type LabStatus } from '../../src/client/control.ts';
import { runFiles } from '../../src/runtime/paths.ts';
import { LabClient } from '../../src/client/lab-client.ts';
import { NotFoundError } from '../../src/errors.ts';
import type { LabPlan, VmPlan } from '../../src/topology/plan.ts';
import { withInits } from '../../src/topology/init-script.ts';

const FAKE_UML = fileURLToPath(new URL('../fixtures/fake-uml.mjs', import.meta.url));

function fakeVm(runDir: string, name: string, args: string[]): VmPlan {
  const consoleLog = join(runDir, 'vms', name, 'console.log');
  return {
    name,
    umid: `fake-${name}`,
    memory: '32M',
    argv: [process.execPath, FAKE_UML, ...args],
    env: {},
    initPath: join(runDir, 'vms', name, 'init.sh'),
    init: '',
    layerDir: join(runDir, 'vms', name, 'layer'),
    consoleLog,
    hostView: join(runDir, 'views', name),
    bootSettings: join(runDir, 'vms', name, 'boot.conf'),
    lines: [{ name: 'con0', device: '/dev/tty0', to: 'log', umlArg: 'fd:0,fd:1', fds: [0, 1], log: consoleLog }],
    disks: [],
    shares: [],
    interfaces: [],
    routes: [],
    sysctl: {},
    files: {},
    startup: [],
    ready: [],
    readyTimeout: 60,
    shutdown: [],
    startAfter: [],
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A lab of fake VMs (name -> fake-uml arguments); mconsole: the commands it got, and a stand-in
 *  that acts on the fake as UML would (halt: it exits; stop/go: SIGSTOP/SIGCONT). */
function fakeLab(t: { after(fn: () => unknown): void }, vms: Record<string, string[]>, opts: Partial<SupervisorOptions> = {}) {
  const runDir = mkdtempSync(join(tmpdir(), 'umlab-sup-'));
  // Each VM's init generated as compile() does it (withInits), so the test can compare it with init.sh.
  const plan: LabPlan = withInits({
    lab: 'fake',
    source: '/dev/null',
    runDir,
    rootfs: join(runDir, 'root'),
    umlDir: join(runDir, 'uml'),
    disksDir: join(runDir, 'disks'),
    kernelVersion: 'fake',
    modulesDir: '/nonexistent',
    rootless: true,
    capture: false,
    vms: Object.entries(vms).map(([name, args]) => fakeVm(runDir, name, args)),
    segments: [],
    links: [],
    hosts: [],
  });
  const mconsole: string[] = [];
  const pidOf = (vm: string) => supervisor.status().vms.find((v) => v.name === vm)?.pid ?? null;
  const supervisor: Supervisor = new Supervisor(plan, {
    mode: 'userns',
    bootTimeoutMs: 10_000,
    hostSetup: false,
    mconsole: async (socket, command) => {
      const vm = basename(dirname(socket)).replace(/^fake-/, '');
      mconsole.push(`${vm} ${command}`);
      const pid = pidOf(vm);
      const signal = ({ halt: 'SIGTERM', stop: 'SIGSTOP', go: 'SIGCONT' } as const)[command as 'halt'];
      if (pid && signal) process.kill(pid, signal);
      return command === 'version' ? 'fake-uml 0.1' : '';
    },
    afterDown: () => {},
    ...opts,
  });
  t.after(async () => {
    // `down` as a client sends it: tears down and closes the control socket (afterDown: stay alive).
    if (existsSync(runFiles(runDir).control)) await ask(runFiles(runDir).control, { op: 'down' });
    await supervisor.teardown();
    rmSync(runDir, { recursive: true, force: true });
  });
  const control = runFiles(runDir).control;
  return { supervisor, plan, runDir, control, mconsole, pidOf, status: async () => (await ask<{ status: LabStatus }>(control, { op: 'status' })).status };
}

/** Waits until `check` holds (the supervisor reacts to exits asynchronously). */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a lab of fake VMs comes up; the control socket answers status, and state.json says the same', async (t) => {
  const lab = fakeLab(t, { h1: [], h2: [] });
  await lab.supervisor.start();
  const status = await lab.status();
  assert.equal(status.phase, 'running');
  assert.deepEqual(
    status.vms.map((v) => [v.name, v.state]),
    [
      ['h1', 'ready'],
      ['h2', 'ready'],
    ],
  );
  for (const v of status.vms) assert.ok(v.pid && alive(v.pid), `${v.name} runs`);
  const state = JSON.parse(readFileSync(runFiles(lab.runDir).state, 'utf8')) as LabStatus;
  assert.deepEqual(
    state.vms.map((v) => v.state),
    ['ready', 'ready'],
  );
  // The VM's process was recorded for `down` (processes.ts), as a group.
  assert.match(readFileSync(join(lab.runDir, 'pids'), 'utf8'), new RegExp(`^${status.vms[0]!.pid} \\d+ group$`, 'm'));
  // Its init and file layer were written before it started.
  // The init on disk is exactly the plan's (what `umlab compile --init` shows).
  for (const vm of lab.plan.vms) {
    assert.match(vm.init, /^#!\/bin\/sh/);
    assert.equal(readFileSync(vm.initPath, 'utf8'), vm.init);
  }
  assert.equal(readFileSync(join(dirname(lab.plan.vms[0]!.initPath), 'layer/etc/hostname'), 'utf8'), 'h1\n');
});

test("exec returns the fake's reply: exit code and both outputs, base64 on the wire", async (t) => {
  const lab = fakeLab(t, { h1: [] });
  await lab.supervisor.start();
  const r = await ask<{ ok: boolean; exitCode: number; stdout: string; stderr: string }>(lab.control, {
    op: 'exec',
    vm: 'h1',
    command: 'echo out; echo err >&2; exit 3',
  });
  assert.equal(r.ok, true);
  assert.equal(r.exitCode, 3);
  assert.equal(Buffer.from(r.stdout, 'base64').toString(), 'out\n');
  assert.equal(Buffer.from(r.stderr, 'base64').toString(), 'err\n');
  const slow = await ask<{ ok: boolean; code: string }>(lab.control, { op: 'exec', vm: 'h1', command: 'sleep 5', timeoutMs: 200 });
  assert.deepEqual([slow.ok, slow.code], [false, 'timeout']);
  const missing = await ask<{ ok: boolean; code: string; error: string }>(lab.control, { op: 'exec', vm: 'nope', command: 'true' });
  assert.equal(missing.code, 'not-found');
  assert.match(missing.error, /no VM named nope in lab fake \(VMs: h1\)/);
});

test('LabClient: status, exec with decoded replies, refusals as typed errors, vm actions', async (t) => {
  const lab = fakeLab(t, { h1: [] });
  await lab.supervisor.start();
  const client = new LabClient(lab.control);
  assert.deepEqual(
    (await client.status()).vms.map((v) => [v.name, v.state]),
    [['h1', 'ready']],
  );
  const r = await client.exec('h1', 'printf out; echo err >&2; exit 3');
  assert.deepEqual([r.exitCode, r.stdout, r.stderr], [3, Buffer.from('out'), Buffer.from('err\n')]);
  assert.deepEqual(await client.execText('h1', 'echo hi'), { exitCode: 0, stdout: 'hi\n', stderr: '' });
  const slow = await client.execReply('h1', 'sleep 5', 200);
  assert.equal(!slow.ok && slow.code, 'timeout');
  await assert.rejects(client.exec('nope', 'true'), (e: unknown) => e instanceof NotFoundError && /no VM named nope/.test(e.message));
  assert.equal((await client.vm('h1', 'pause')).ok, true);
  await until(async () => (await client.status()).vms[0]!.state === 'paused', 'h1 to pause');
  await client.vm('h1', 'resume');
});

test('a VM that exits is reported crashed, refuses exec, and `vm start` boots it again', async (t) => {
  const lab = fakeLab(t, { h1: ['ready', 'exit-after=300'], h2: [] });
  await lab.supervisor.start();
  await until(async () => (await lab.status()).vms[0]!.state === 'crashed', 'h1 to crash');
  const h1 = (await lab.status()).vms[0]!;
  assert.deepEqual([h1.detail, h1.pid], ['exited with code 7', null]);
  assert.equal((await lab.status()).vms[1]!.state, 'ready', 'the other VM is untouched');
  const refused = await ask<{ ok: boolean; code: string; hint: string }>(lab.control, { op: 'exec', vm: 'h1', command: 'true' });
  assert.deepEqual([refused.ok, refused.code, refused.hint], [false, 'not-ready', 'boot it again with: umlab vm start h1']);
  const started = await ask<{ ok: boolean; state: string }>(lab.control, { op: 'vm', vm: 'h1', action: 'start' });
  assert.deepEqual([started.ok, started.state], [true, 'ready']);
});

test('pause and resume go through the management console; a paused VM refuses exec', async (t) => {
  const lab = fakeLab(t, { h1: [] });
  await lab.supervisor.start();
  const paused = await ask<{ ok: boolean; state: string }>(lab.control, { op: 'vm', vm: 'h1', action: 'pause' });
  assert.deepEqual([paused.ok, paused.state], [true, 'paused']);
  const refused = await ask<{ code: string; hint: string }>(lab.control, { op: 'exec', vm: 'h1', command: 'true' });
  assert.deepEqual([refused.code, refused.hint], ['not-ready', 'resume it with: umlab vm resume h1']);
  await ask(lab.control, { op: 'vm', vm: 'h1', action: 'resume' });
  const r = await ask<{ ok: boolean; exitCode: number }>(lab.control, { op: 'exec', vm: 'h1', command: 'exit 0' });
  assert.deepEqual([r.ok, r.exitCode], [true, 0]);
  const sysrq = await ask<{ ok: boolean; code: string }>(lab.control, { op: 'vm', vm: 'h1', action: 'sysrq', key: '!!' });
  assert.deepEqual([sysrq.ok, sysrq.code], [false, 'usage']);
  assert.deepEqual(lab.mconsole, ['h1 stop', 'h1 go']);
});

test('console: a client gets the console output and what it types reaches the VM', async (t) => {
  const lab = fakeLab(t, { h1: [] });
  await lab.supervisor.start();
  const sock = connect(lab.control);
  t.after(() => sock.destroy());
  let raw = '';
  let answered = false;
  sock.on('data', (chunk) => {
    if (!answered) {
      const nl = chunk.indexOf('\n');
      assert.deepEqual(JSON.parse(chunk.subarray(0, nl).toString()), { ok: true });
      answered = true;
      chunk = chunk.subarray(nl + 1);
    }
    raw += chunk.toString();
  });
  sock.write(JSON.stringify({ op: 'console', vm: 'h1' }) + '\n');
  await until(() => answered, 'the console answer');
  sock.write('hello console\n'); // the fake's console echoes
  await until(() => raw.includes('hello console'), 'the echo');
  await until(() => readFileSync(lab.plan.vms[0]!.consoleLog, 'utf8').includes('hello console'), 'the console log');
});

test('teardown halts every VM through the management console and ends the fake processes', async (t) => {
  const lab = fakeLab(t, { h1: [], h2: [] });
  await lab.supervisor.start();
  const pids = (await lab.status()).vms.map((v) => v.pid!);
  await lab.supervisor.teardown();
  assert.deepEqual(lab.mconsole.sort(), ['h1 halt', 'h2 halt']);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`);
  assert.deepEqual(
    lab.supervisor.status().vms.map((v) => [v.state, v.pid]),
    [
      ['stopped', null],
      ['stopped', null],
    ],
  );
  assert.equal(lab.supervisor.status().phase, 'stopping');
  assert.match(readFileSync(lab.plan.vms[0]!.consoleLog, 'utf8'), /fake-uml: SIGTERM, halting/);
});

test('a VM whose management console is dead is killed 5 s after the halt', async (t) => {
  const lab = fakeLab(t, { h1: [] }, { mconsole: () => Promise.reject(new Error('no such socket')) });
  await lab.supervisor.start();
  const pid = lab.pidOf('h1')!;
  await lab.supervisor.teardown();
  assert.equal(alive(pid), false);
  assert.equal(lab.supervisor.status().vms[0]!.state, 'stopped');
});

test('`down` over the control socket stops the lab and answers; the socket goes away', async (t) => {
  let downs = 0;
  const lab = fakeLab(t, { h1: [] }, { afterDown: () => downs++ });
  await lab.supervisor.start();
  const pid = lab.pidOf('h1')!;
  const r = await ask<{ ok: boolean; captureFaults: unknown[]; captureFrames: Record<string, number> }>(lab.control, { op: 'down' });
  assert.deepEqual(r, { ok: true, captureFaults: [], captureFrames: {} });
  assert.equal(downs, 1);
  assert.equal(alive(pid), false);
  assert.equal(existsSync(lab.control), false);
});

test('a failed configuration step fails start with its output; the lab is torn down', async (t) => {
  const lab = fakeLab(t, { h1: [], h2: ['fail'] });
  const events: { type: string; vm?: string; state?: string }[] = [];
  const watching = until(() => existsSync(lab.control), 'the control socket').then(() => {
    const sock = connect(lab.control);
    t.after(() => sock.destroy());
    sock.on(
      'data',
      jsonLines<(typeof events)[number]>((e) => events.push(e)),
    );
    sock.on('error', () => {});
    sock.write(JSON.stringify({ op: 'watch' }) + '\n');
  });
  await assert.rejects(lab.supervisor.start(), /VM h2: configuration step failed \(exit code 2\): ip link set eth0 up\n {4}Cannot find device "eth0"/);
  await watching;
  // Both processes are gone.
  assert.deepEqual(
    lab.supervisor.status().vms.map((v) => v.pid),
    [null, null],
  );
  assert.equal(lab.supervisor.status().vms[1]!.state, 'stopped');
  assert.match(lab.supervisor.consoleTail('h2'), /umlab: step failed: ip link set eth0 up/);
  await until(() => events.some((e) => e.type === 'failed'), 'the failed event');
  assert.equal(events.find((e) => e.type === 'failed')!.vm, 'h2');
  assert.ok(events.some((e) => e.type === 'vm' && e.vm === 'h2' && e.state === 'failed'));
});

test('a READY that arrives after the halt began does not make the VM ready: it is stopped, not crashed', async (t) => {
  const lab = fakeLab(t, { h1: ['ready-on-halt'], h2: ['fail'] });
  await assert.rejects(lab.supervisor.start(), /VM h2: configuration step failed/);
  assert.deepEqual(
    lab.supervisor.status().vms.map((v) => [v.name, v.state, v.pid]),
    [
      ['h1', 'stopped', null],
      ['h2', 'stopped', null],
    ],
  );
});

test('a VM that exits during boot, or never says READY, fails start', async (t) => {
  const exiting = fakeLab(t, { h1: ['exit-during-boot'] });
  await assert.rejects(exiting.supervisor.start(), /VM h1 exited during boot \(code 1\)/);
  assert.match(exiting.supervisor.consoleTail('h1'), /Kernel panic - not syncing: fake/);
  const silent = fakeLab(t, { h1: ['silent'] }, { bootTimeoutMs: 500 });
  await assert.rejects(silent.supervisor.start(), /VM h1 was not ready after 0.5 s/);
  assert.equal(silent.supervisor.status().vms[0]!.pid, null);
});

test('a VM with ready: conditions stays booting, saying what it waits for, until they hold', async (t) => {
  const lab = fakeLab(t, { h1: [], h2: [] });
  const flag = join(lab.runDir, 'service-up');
  // The fake runs the plan's commands with sh on this host: the condition is a file here.
  lab.plan.vms[0]!.ready = [{ condition: `file:${flag}`, command: `test -e ${flag}` }];
  lab.plan.vms[0]!.readyTimeout = 30;
  const started = lab.supervisor.start();
  const waitingAndReady = async () => {
    if (!existsSync(lab.control)) return false;
    const [h1, h2] = (await lab.status()).vms;
    return h1!.detail === `waiting for file:${flag}` && h2!.state === 'ready';
  };
  await until(waitingAndReady, 'h1 waiting and h2 ready');
  const waiting = await lab.status();
  assert.equal(waiting.phase, 'starting');
  assert.deepEqual(
    waiting.vms.map((v) => v.state),
    ['booting', 'ready'],
  );
  writeFileSync(flag, '');
  await started;
  assert.deepEqual(
    (await lab.status()).vms.map((v) => v.state),
    ['ready', 'ready'],
  );
});

test('a ready: condition that never holds fails start with the VM, the condition and its output, and stops every VM', async (t) => {
  const lab = fakeLab(t, { h1: [], h2: [] });
  lab.plan.vms[1]!.ready = [{ condition: 'cmd: check', command: 'echo still converging; exit 4' }];
  lab.plan.vms[1]!.readyTimeout = 0.5;
  await assert.rejects(lab.supervisor.start(), (err: Error) => {
    assert.equal(err.name, 'VmBootFailure');
    assert.match(err.message, /^VM h2 was not ready within 0.5 s of its startup: cmd: check never held \(\d+ tr(y|ies); /);
    assert.match(err.message, /last output \(exit 4\):\n {6}still converging$/);
    return true;
  });
  const state = JSON.parse(readFileSync(runFiles(lab.runDir).state, 'utf8')) as LabStatus;
  assert.deepEqual(
    state.vms.map((v) => v.state),
    ['stopped', 'stopped'],
  );
  for (const v of state.vms) assert.equal(v.pid, null, `${v.name} has no process left`);
});
