// Shared by the boot benchmarks: N bare UML kernels booted the way umlab boots its VMs (same
// kernel, read-only host view, memory, initcall skips and other arguments) but with no lab
// around them, and the PSS of a lab's host processes.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostViewScript } from '../src/runtime/host-view.ts';
import { loopsPerJiffy, umlKernel, viewHelpers } from '../src/runtime/host.ts';
import { DEFAULT_KERNEL_ARGS, DEFAULT_SKIP_INITCALLS, UNUSED_LINES_ARGS } from '../src/topology/model.ts';
import { xstateFacts } from '../src/vm/xstate-fix.ts';

/** Sum of PSS over the lab's processes whose command line has `program` (linux.uml: the VMs).
 *  A UML VM is several host processes: its helper threads share the kernel's address space
 *  (same rollup, counted once), its user-space processes have their own. PSS splits pages
 *  shared between VMs fairly. */
export function pssMiB(runDir: string, program: string): number {
  const seen = new Set<string>();
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(program) || !cmdline.includes(runDir)) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const key = rollup.slice(rollup.indexOf('\n'));
      if (seen.has(key)) continue;
      seen.add(key);
      kib += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kib / 1024;
}

/** Seconds until n bare UML kernels with the same root and memory have run their init, and
 *  the kernels' mean time from start to init (their uptime when init runs). */
export async function bareBoot(n: number, dir: string, memory: string, skip: boolean): Promise<{ seconds: number; kernelToInit: number }> {
  const { kernel } = umlKernel();
  const { preload } = xstateFacts(); // the register fix, where the host needs it (as umlab runs VMs)
  const run = preload ? `env LD_PRELOAD=${preload} ${kernel}` : kernel;
  const skipArg = skip ? `initcall_blacklist=${DEFAULT_SKIP_INITCALLS.join(',')}` : '';
  const lpj = loopsPerJiffy();
  const lpjArg = lpj !== undefined ? `lpj=${lpj}` : '';
  const init = join(dir, 'init.sh');
  writeFileSync(init, '#!/bin/sh\nmount -t proc proc /proc\nread up _ < /proc/uptime\necho BARE-BOOTED $up > /dev/console\nwhile :; do sleep 3600; done\n', {
    mode: 0o755,
  });
  const script = `${hostViewScript({ target: join(dir, 'rootfs'), binds: [{ path: dir, rw: false }], vms: [] }, viewHelpers())}
for i in $(seq 1 ${n}); do
  ${run} mem=${memory} umid=b$i uml_dir=${dir}/uml hostfs=${dir}/rootfs rootfstype=hostfs rootflags=/ ro quiet ${skipArg} ${DEFAULT_KERNEL_ARGS.join(' ')} ${lpjArg} init=${init} con0=fd:0,fd:1 ${UNUSED_LINES_ARGS.join(' ')} < /dev/null 2>&1 | grep --line-buffered BARE-BOOTED &
done
wait`;
  const t0 = process.hrtime.bigint();
  // A PID namespace of its own: a VM's processes outlive a killed kernel (ptrace detaches them),
  // and die with the namespace's first process.
  const child = spawn('unshare', ['--user', '--map-root-user', '--net', '--mount', '--propagation', 'private', '--pid', '--fork', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const uptimes: number[] = [];
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/BARE-BOOTED ([\d.]+)/g)) uptimes.push(Number(m[1]));
      if (uptimes.length >= n) resolve();
    });
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.kill(-child.pid!, 'SIGKILL');
  return { seconds, kernelToInit: uptimes.reduce((a, b) => a + b, 0) / uptimes.length };
}
