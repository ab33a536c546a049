// The one placement backend today: labs on this machine, through the same library functions as
// `umlab up` and `umlab down`, in the class's own UMLAB home (<name>.class/home), so the class's
// labs, their run directories and archived captures stay inside the class directory.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readPlan } from '../runtime/paths.ts';
import { formatDiagnostic, LabFileError, LabRuntimeError, UsageError } from '../errors.ts';
import { loadKatharaContents } from '../kathara/load.ts';
import { readLabDir } from '../kathara/read-dir.ts';
import { compile } from '../planner/compile.ts';
import { removeLabDisks } from '../runtime/disks.ts';
import { planContext } from '../runtime/host.ts';
import { ensureProfileImages, imageCacheDir } from '../runtime/image-cache.ts';
import { downLab, labRecord, listLabs, upLab, type LabRecord } from '../runtime/lab.ts';
import { loadLabFile } from '../runtime/lab-reader.ts';
import { labMemoryMiB } from '../runtime/memory-budget.ts';
import { runDirFor } from '../runtime/paths.ts';
import type { Lab } from '../topology/model.ts';
import type { LabPlan } from '../topology/plan.ts';
import { makeShareCopies, ownShares } from './lab-shares.ts';
import type { LabRef, PlacedLab, Placement } from './placement.ts';

export class LocalPlacement implements Placement {
  constructor(
    /** The class's UMLAB home. */
    readonly home: string,
    private readonly log: (line: string) => void = () => {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The assignment's lab compiled under `name` in the class's home: what `up` would boot. */
  private async plan(source: string, name: string, needImages: boolean): Promise<LabPlan> {
    const lab = await this.load(source, needImages);
    lab.name = name;
    return compile(lab, planContext(runDirFor(this.home, name), this.env));
  }

  private load(source: string, needImages: boolean): Promise<Lab> {
    return loadAssignment(source, needImages, this.log);
  }

  async demandMiB(source: string): Promise<number> {
    return labMemoryMiB(await this.plan(source, 'demand', false));
  }

  async start(lab: LabRef): Promise<void> {
    const { plan, copies } = ownShares(await this.plan(lab.source, lab.name, true), this.sharesDir(lab.name));
    makeShareCopies(copies);
    await upLab(plan, { home: this.home, env: this.env });
  }

  async stop(name: string, opts: { fresh?: boolean } = {}): Promise<void> {
    const record = this.record(name);
    if (record) await downLab(this.home, record);
    if (!opts.fresh) return;
    removeLabDisks(this.home, name);
    rmSync(this.sharesDir(name), { recursive: true, force: true });
  }

  /** The lab's own copies of the assignment's read-write shares (lab-shares.ts). */
  private sharesDir(name: string): string {
    return join(this.home, 'shares', name);
  }

  status(name: string): PlacedLab {
    const record = this.record(name);
    return record ? placed(record) : { name, state: 'absent', vms: [] };
  }

  list(): PlacedLab[] {
    return listLabs(this.home).map(placed);
  }

  runDir(name: string): string | null {
    return this.record(name)?.alive ? runDirFor(this.home, name) : null;
  }

  pause(name: string): void {
    this.signalVms(name, 'SIGSTOP');
  }

  resume(name: string): void {
    this.signalVms(name, 'SIGCONT');
  }

  /** Only each VM's UML kernel process: the kernel holds its guest's processes (UML's ptraced
   *  helpers) still while it is stopped, and a signal sent to those would reach the kernel as theirs. */
  private signalVms(name: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
    const record = this.record(name);
    if (!record?.alive) throw new UsageError(`lab ${name} is not running`);
    for (const vm of record.state?.vms ?? []) {
      if (!vm.pid) continue;
      try {
        process.kill(vm.pid, signal);
      } catch (cause) {
        // A VM that exited since the state was written has nothing to freeze.
        if ((cause as NodeJS.ErrnoException).code !== 'ESRCH')
          throw new LabRuntimeError(`cannot ${signal} VM ${vm.name} of ${name}: ${(cause as Error).message}`, { cause });
      }
    }
  }

  trafficBytes(name: string): number {
    const runDir = this.runDir(name);
    if (runDir === null) return 0;
    let bytes = 0;
    for (const link of readPlan(runDir).links) if (link.capture) bytes += statSync(link.capture, { throwIfNoEntry: false })?.size ?? 0;
    return bytes;
  }

  private record(name: string): LabRecord | undefined {
    return labRecord(this.home, name);
  }
}

/** An assignment's lab as `up` reads it: a YAML lab file or a Kathará lab directory (whose
 *  images are checked, or left alone without `needImages`). */
export async function loadAssignment(source: string, needImages: boolean, log: (line: string) => void = () => {}): Promise<Lab> {
  if (!statSync(source).isDirectory()) return loadLabFile(source);
  const result = loadKatharaContents(readLabDir(source), { imageCache: imageCacheDir(), strict: false, labPath: (rel) => rel });
  for (const w of result.warnings) log(`warning: ${formatDiagnostic(w)}`);
  if (!result.lab) throw new LabFileError(result.errors);
  if (needImages) await ensureProfileImages(result.profiles, { build: false, log });
  return result.lab;
}

function placed(record: LabRecord): PlacedLab {
  return {
    name: record.lab,
    state: record.alive ? 'running' : 'gone',
    vms: (record.state?.vms ?? []).map((vm) => ({ name: vm.name, state: record.alive ? vm.state : 'stopped' })),
  };
}
