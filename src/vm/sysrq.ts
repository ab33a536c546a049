// Which SysRq keys `umlab vm sysrq` passes to a VM. Debian's UML 6.1 knows the keys in its
// help line (loglevel 0-9, b c e f i j m n o p q s t u w); each one was tried on a real VM
// (test/vm/sysrq.test.ts tries every accepted key). Accepted keys leave the VM running and
// umlab's agent answering; the others are refused with the reason and what to use instead.

/** Keys that only report or adjust and leave the VM as it was. */
export const SAFE_SYSRQ_KEYS: Record<string, string> = {
  ...Object.fromEntries([...'0123456789'].map((d) => [d, `console log level ${d}`])),
  h: 'help: the keys this kernel knows',
  j: 'thaw frozen filesystems',
  m: 'memory usage',
  n: 'nice all real-time tasks',
  p: 'registers of the current CPU',
  q: 'pending timers',
  s: 'sync all filesystems',
};

/** Keys the kernel has that umlab refuses: why, and what to do instead. */
export const REFUSED_SYSRQ_KEYS: Record<string, string> = {
  b: "reboots in place, keeping the old boot's open files (use `umlab vm reboot VM`)",
  c: 'crashes the kernel on purpose (use `umlab vm halt VM` to stop it)',
  e: "sends SIGTERM to every process, umlab's agent too, so exec stops working (use `umlab vm reboot VM`)",
  f: "kills the largest process, which may be umlab's agent or the lab's daemon",
  i: "kills every process, umlab's agent too, so exec stops working (use `umlab vm reboot VM`)",
  o: 'powers the VM off (use `umlab vm halt VM`)',
  t: 'panics Debian\'s UML 6.1 ("Segfault with no mm" in sched_show_task)',
  u: "remounts every filesystem read-only: the VM's root stops taking writes until it reboots",
  w: "goes through the same task dump as t, which panics Debian's UML 6.1 when a task is blocked",
};

/** null when `key` may be sent; otherwise why not. */
export function sysrqRefusal(key: string): string | null {
  if (key in SAFE_SYSRQ_KEYS) return null;
  const why = REFUSED_SYSRQ_KEYS[key];
  const accepted = `accepted keys: ${Object.keys(SAFE_SYSRQ_KEYS).join(' ')}`;
  if (why) return `sysrq ${key} is refused: it ${why}; ${accepted}`;
  return `sysrq "${key}" is not a SysRq key of this kernel; ${accepted}`;
}

/** The management console's answer when it is whole, otherwise the report as the console
 *  showed it. The answer comes in datagrams the client's socket queues only 10 of: a long
 *  report can lose its middle and still end normally, so an answer whose lines are not the
 *  console's report line for line is cut. `consoleText` is what the console showed since the
 *  key was sent. */
export function wholeSysrqReport(answer: string | null, consoleText: string): { text: string; fromConsole: boolean } | null {
  const at = consoleText.search(/sysrq: /i);
  const report = at < 0 ? [] : significantLines(consoleText.slice(at));
  if (answer !== null) {
    const answered = significantLines(answer);
    const whole = answered.length >= report.length || answered.every((line, i) => line === report[i]);
    if (whole) return { text: answer, fromConsole: false };
  }
  return report.length === 0 ? null : { text: report.join('\n'), fromConsole: true };
}

const significantLines = (text: string) =>
  text
    .replace(/\r/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
