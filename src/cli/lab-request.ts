// One request to a running lab's supervisor, over its control socket. A refusal carries a
// code that becomes the matching typed error (and so the CLI's exit code).
import { LabRuntimeError, NotFoundError, UsageError, type UmlabError } from '../errors.ts';
import { accessSync, constants } from 'node:fs';
import { ask, permissionError, type ControlRequest, type LabStatus, type Refusal } from '../runtime/control.ts';
import { findLab, type LabRecord } from '../runtime/lab.ts';
import { runFiles, umlabHome } from '../runtime/paths.ts';

/** Asks the lab (the only running one when `labName` is left out) and returns its answer as is. */
export async function askLab<T>(labName: string | undefined, req: ControlRequest): Promise<({ ok: true } & T) | Refusal> {
  const record = findLab(umlabHome(), labName);
  if (!record.alive) {
    // Another user's lab reads as "not running" (its state is unreadable): say what it is.
    try {
      accessSync(runFiles(record.runDir).state, constants.R_OK);
    } catch (error) {
      const denied = permissionError(error);
      if (denied) throw denied;
    }
  }
  if (!record.alive) throw new NotFoundError(`lab ${record.lab} is not running (its supervisor is gone)`, { hint: `clean up with: umlab down ${record.lab}` });
  return ask<({ ok: true } & T) | Refusal>(runFiles(record.runDir).control, req);
}

export function refusalError(refusal: Refusal): UmlabError {
  const options = refusal.hint ? { hint: refusal.hint } : undefined;
  if (refusal.code === 'not-found') return new NotFoundError(refusal.error, options);
  if (refusal.code === 'usage') return new UsageError(refusal.error, options);
  return new LabRuntimeError(refusal.error, options);
}

/** Asks the lab; a refusal is thrown as its typed error. */
export async function request<T>(labName: string | undefined, req: ControlRequest): Promise<{ ok: true } & T> {
  const answer = await askLab<T>(labName, req);
  if (!answer.ok) throw refusalError(answer);
  return answer;
}

/** A lab's status from its supervisor; the last state it wrote when it is gone or does not answer. */
export async function liveStatus(record: LabRecord): Promise<LabStatus | null> {
  if (!record.alive) return record.state;
  try {
    const r = await ask<{ ok: boolean; status: LabStatus }>(runFiles(record.runDir).control, { op: 'status' });
    return r.status;
  } catch {
    return record.state;
  }
}
