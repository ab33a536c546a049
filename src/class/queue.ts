// Admission of lab starts, pure: per-student limits refuse a start at once (waiting would not
// help); the class's memory budget makes starts wait, first come first served, so a big lab at
// the head is not overtaken for ever by small ones behind it; so does the number of labs booting
// at once (boots are CPU-bound: thirty at once on two cores keep everyone waiting minutes).
import type { ClassLimits } from './class-file.ts';

export interface StartRequest {
  /** The lab's name: one request per lab. */
  lab: string;
  student: string;
  memoryMiB: number;
}

/** A lab that holds memory now: running, or booting. */
export interface Holding {
  lab: string;
  student: string;
  memoryMiB: number;
}

const sum = (items: { memoryMiB: number }[]) => items.reduce((total, i) => total + i.memoryMiB, 0);

/** Why this start is refused outright, or null. `mine` are the student's labs that hold memory
 *  or wait in the queue (not this one). */
export function refuseStart(request: StartRequest, mine: Holding[], limits: ClassLimits, budgetMiB: number): string | null {
  if (mine.length >= limits.runningLabsPerStudent)
    return `you may have ${limits.runningLabsPerStudent} lab${limits.runningLabsPerStudent === 1 ? '' : 's'} running at once: stop ${mine.map((m) => m.lab).join(', ')} first`;
  if (limits.memoryPerStudentMiB !== null && sum(mine) + request.memoryMiB > limits.memoryPerStudentMiB)
    return `this lab needs ${request.memoryMiB} MiB; with your running labs (${sum(mine)} MiB) that is more than the ${limits.memoryPerStudentMiB} MiB each student may use`;
  if (request.memoryMiB > budgetMiB) return `this lab needs ${request.memoryMiB} MiB, more than the class's whole memory budget (${budgetMiB} MiB)`;
  return null;
}

/** The requests at the head of the queue that fit the budget now, in order, at most `bootSlots`
 *  of them (labs that may begin booting now); the first that does not fit stops the admission
 *  (first come, first served). */
export function admit(queue: StartRequest[], holding: Holding[], budgetMiB: number, bootSlots = Infinity): StartRequest[] {
  let used = sum(holding);
  const admitted: StartRequest[] = [];
  for (const request of queue) {
    if (admitted.length >= bootSlots || used + request.memoryMiB > budgetMiB) break;
    used += request.memoryMiB;
    admitted.push(request);
  }
  return admitted;
}

/** 1 for the head of the queue; null when the lab does not wait. */
export function placeInQueue(queue: StartRequest[], lab: string): number | null {
  const i = queue.findIndex((r) => r.lab === lab);
  return i < 0 ? null : i + 1;
}
