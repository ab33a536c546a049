// The client of a running lab named on the command line (the only running one when the name
// is left out), and a lab's status for `status` and `capture`. Refusals become typed errors
// (and so the CLI's exit code) in the client (src/client/lab-client.ts).
import { accessSync, constants } from 'node:fs';
import { LabClient } from '../client/lab-client.ts';
import { NotFoundError } from '../errors.ts';
import { permissionError, type LabStatus } from '../client/control.ts';
import { findLab, type LabRecord } from '../runtime/lab.ts';
import { runFiles, umlabHome } from '../runtime/paths.ts';

/** The client of the lab (the only running one when `labName` is left out); throws when it does not run. */
export function labClient(labName: string | undefined): LabClient {
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
  return new LabClient(runFiles(record.runDir).control);
}

/** A lab's status from its supervisor; the last state it wrote when it is gone or does not answer. */
export async function liveStatus(record: LabRecord): Promise<LabStatus | null> {
  if (!record.alive) return record.state;
  try {
    return await new LabClient(runFiles(record.runDir).control).status();
  } catch {
    return record.state;
  }
}
