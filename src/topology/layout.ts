// Every path inside a lab's run directory, in one pure place: compile() names them into the plan
// and runFiles() reads the lab-wide ones, so nothing rebuilds a path from pieces.
import { join } from 'node:path';

/** Lab-wide files of a run directory. */
export const runLayout = (runDir: string) => ({
  plan: `${runDir}/plan.json`,
  state: `${runDir}/state.json`,
  control: `${runDir}/control.sock`,
  /** The secret a client of a console or serial line on a TCP port types first (0600). */
  lineKey: `${runDir}/line.key`,
  supervisorLog: `${runDir}/supervisor.log`,
  /** Every pid the lab started, for `down` (vm/processes.ts). */
  pids: `${runDir}/pids`,
  captures: `${runDir}/captures`,
  vms: `${runDir}/vms`,
  rootfs: `${runDir}/rootfs`,
  /** Each VM's own copy of the view (`hostfs=`): the lab-wide view plus that VM's directory only. */
  views: `${runDir}/views`,
  umlDir: `${runDir}/uml`,
  /** The socket filter every vector (raw) VM port loads: drops the port's own outgoing frames. */
  vectorFilter: `${runDir}/vector-rx.bpf`,
});

/** Files inside a run directory given as the user or a path join wrote it (a trailing / or ./). */
export function runFiles(runDir: string) {
  const dir = join(runDir);
  return runLayout(dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir);
}

/** The pcap file of a link. */
export const captureFile = (runDir: string, link: string) => `${runLayout(runDir).captures}/${link}.pcap`;

/** One VM's files: its init, file layer, console and serial line logs and ptys. */
export const vmLayout = (runDir: string, vm: string) => {
  const dir = `${runLayout(runDir).vms}/${vm}`;
  return {
    dir,
    hostView: `${runLayout(runDir).views}/${vm}`,
    initPath: `${dir}/init.sh`,
    bootSettings: `${dir}/boot.conf`,
    layerDir: `${dir}/layer`,
    consoleLog: `${dir}/console.log`,
    consolePty: `${dir}/console.pty`,
    lineLog: (line: string) => `${dir}/${line}.log`,
    linePty: (line: string) => `${dir}/${line}.pty`,
  };
};
