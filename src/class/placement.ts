// Where a student's lab runs. The class server starts, stops and looks at labs only through this
// interface, so a later backend can place them on other machines of a cluster; LocalPlacement
// (local-placement.ts) runs them on this one. See docs/architecture.md, "A class's labs".

/** A lab to place: the name it runs under (made once, stored by the class) and its source. */
export interface LabRef {
  name: string;
  /** The assignment's lab file or Kathará lab directory, absolute. */
  source: string;
}

export interface PlacedVm {
  name: string;
  /** The supervisor's word: booting, ready, paused, failed, crashed, stopped. */
  state: string;
}

export interface PlacedLab {
  name: string;
  /** running: its supervisor is alive; gone: something of it is left (a killed supervisor) but
   *  nothing runs; absent: nothing of it is here. */
  state: 'running' | 'gone' | 'absent';
  vms: PlacedVm[];
}

export interface Placement {
  /** The memory the lab's VMs may use, in MiB (the sum of their `memory:`): what the queue admits against. */
  demandMiB(source: string): Promise<number>;
  /** Boots the lab; resolves when every VM is ready, rejects (with nothing of it left) when it cannot. */
  start(lab: LabRef): Promise<void>;
  /** Stops the lab and removes what runs of it; `fresh` also drops what it keeps across a stop
   *  (its disks), so the next start is a fresh copy of the assignment. */
  stop(name: string, opts?: { fresh?: boolean }): Promise<void>;
  /** One lab as it is now. */
  status(name: string): PlacedLab;
  /** Every lab this backend holds for the class, running or left over. */
  list(): PlacedLab[];
  /** The run directory of a running lab, on this machine: what the class server reads the lab's
   *  plan, control socket (consoles, live state) and captures from, to show it in the browser;
   *  null when it does not run. A backend on other machines would give a local mirror or proxy. */
  runDir(name: string): string | null;
  /** Freezes every VM of a running lab (SIGSTOP: no CPU, its memory kept) / lets them go on. */
  pause(name: string): void;
  resume(name: string): void;
  /** A number that grows while frames cross the lab's links (the bytes its captures hold): the
   *  idle check compares it between looks. */
  trafficBytes(name: string): number;
}
