// `umlab vm ACTION VM` in the supervisor: start, pause/resume, halt, reboot, Ctrl-Alt-Del,
// sysrq and version, through the VM's management console or a fresh UML process.
import { VM_ACTIONS, type VmAction } from '../vm/mconsole.ts';
import { sysrqRefusal, wholeSysrqReport } from '../vm/sysrq.ts';
import type { UmlProcess } from '../vm/uml-process.ts';
import type { ControlReply } from '../client/control.ts';
import { sleep } from '../util/time.ts';

/** Runs one action on a VM; answers as the control socket does (a refusal is a reply, not a throw). */
export async function vmAction(vm: UmlProcess, action: VmAction, key?: string): Promise<ControlReply> {
  const name = vm.name;
  if (!VM_ACTIONS.includes(action)) return { ok: false, error: `unknown VM action ${action}` };
  if (action === 'start') {
    if (vm.proc) return { ok: false, error: `VM ${name} is ${vm.state}, it is running already` };
    await vm.boot();
    return { ok: true, vm: name, action, state: vm.state, output: 'started' };
  }
  if (!vm.proc)
    return {
      ok: false,
      code: 'not-ready',
      error: `VM ${name} is ${vm.state}, it has no management console`,
      hint: `boot it again with: umlab vm start ${name}`,
    };
  const send = (command: string) => vm.mconsole(command);
  const paused = vm.state === 'paused';
  const answer = (output: string): ControlReply => ({ ok: true, vm: name, action, state: vm.state, output });
  switch (action) {
    case 'version':
      return answer(await send('version'));
    case 'sysrq': {
      const refusal = sysrqRefusal(key ?? '');
      if (refusal) return { ok: false, code: 'usage', error: refusal };
      return answer(await sysrq(vm, key!));
    }
    case 'pause':
      if (paused) return answer('already paused');
      if (vm.state !== 'ready' && vm.state !== 'booting') return { ok: false, error: `VM ${name} is ${vm.state}, it cannot be paused` };
      vm.stateBeforePause = vm.state;
      await send('stop');
      vm.setState('paused');
      return answer('paused: the VM does nothing until `umlab vm resume`');
    case 'resume':
      if (!paused) return { ok: false, error: `VM ${name} is ${vm.state}, not paused` };
      await send('go');
      vm.setState(vm.stateBeforePause ?? 'ready');
      return answer('resumed');
    case 'halt':
      await vm.stop();
      return answer('halted');
    case 'reboot':
      // Not mconsole's reboot: UML re-executes itself in place and keeps the old boot's
      // open files (hostfs files, disk locks). A fresh process starts clean.
      await vm.stop();
      await vm.boot();
      return answer('rebooted');
    case 'cad': {
      // The init makes Ctrl-Alt-Del restart the kernel at once (kernel.ctrl-alt-del=1), unless the lab's sysctl says otherwise.
      if (vm.plan.sysctl['kernel.ctrl-alt-del'] === '0') {
        if (paused) await send('go');
        return answer((await send('cad')) || 'Ctrl-Alt-Del sent');
      }
      // The same restart in a fresh process: UML 6.1 restarting in place can take a signal on the
      // host's stack and panic ("Segfault with no mm" in deferred_cad), measured 1 in 20-40 presses.
      await vm.stop({ shutdownCommands: false });
      await vm.boot();
      return answer('rebooted (Ctrl-Alt-Del)');
    }
  }
}

// The kernel answers in datagrams and the client's socket queues only 10 of them
// (net.unix.max_dgram_qlen, not settable in a rootless lab's namespace): a longer report
// (timers or memory at log level 9) loses some, its end too (uml_mconsole then waits for ever)
// or only its middle. The console shows the whole report, so the answer is checked against it.
const SYSRQ_ANSWER_MS = 5000;
/** The console has shown the whole report once it has been quiet this long. */
const CONSOLE_QUIET_MS = 300;
const CONSOLE_SETTLE_MAX_MS = 3000;

async function sysrq(vm: UmlProcess, key: string): Promise<string> {
  const consoleText = vm.watchConsole();
  try {
    let answer: string | null = null;
    let failure: unknown;
    try {
      answer = await vm.mconsole(`sysrq ${key}`, SYSRQ_ANSWER_MS);
    } catch (err) {
      failure = err;
    }
    const report = wholeSysrqReport(answer, await settled(consoleText.text));
    if (report === null) throw failure;
    return report.fromConsole ? `${report.text}\n(read from the console: the management console's answer was cut short)` : report.text;
  } finally {
    consoleText.stop();
  }
}

/** What the console has shown once it stops growing. */
async function settled(text: () => string): Promise<string> {
  const deadline = Date.now() + CONSOLE_SETTLE_MAX_MS;
  let shown = text();
  for (;;) {
    await sleep(CONSOLE_QUIET_MS);
    const now = text();
    if (now.length === shown.length || Date.now() > deadline) return now;
    shown = now;
  }
}
