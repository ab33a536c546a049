// Which captures of a lab miss frames, and why (issue 12, item 6): for `status` (per link) and
// for `down` (a list). Three sources, as none covers every case alone:
//   - the supervisor's engines (a dead tcpdump, a full disk), told in its answer to `down`
//     and at the time of the fault in status: a full disk may keep them out of any file;
//   - tcpdump's own logs ("N packets dropped by kernel": it fell behind);
//   - the archived files themselves: one that ends in a cut record was cut by something
//     (a supervisor or tcpdump killed mid-write); the cut part is removed, and said.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CaptureHealth } from '../kinds/running.ts';
import { framesMissedBy, TCPDUMP_LOG_SUFFIX } from '../capture/tcpdump.ts';
import { countPcapRecords, trimToWholeRecords } from '../capture/pcap-writer.ts';
import { readTextOrEmpty } from '../util/files.ts';

/** Added to a link in `status --json` when its capture misses frames. (`capture` stays the file.) */
export interface LinkCaptureFields {
  captureState?: CaptureHealth['state'];
  captureReason?: string;
  captureRestarts?: number;
  /** The files of the capture before each restart, oldest first. */
  captureParts?: string[];
}

export function linkCaptureFields(h: CaptureHealth | null | undefined): LinkCaptureFields {
  if (!h) return {};
  return { captureState: h.state, captureReason: h.reason, captureRestarts: h.restarts, ...(h.earlierParts.length && { captureParts: h.earlierParts }) };
}

/** One entry of `down --json`'s incompleteCaptures. */
export interface IncompleteCapture {
  capture: string;
  /** Frames known to be missing (0 when they cannot be counted, as for a killed tcpdump). */
  missingFrames: number;
  /** Why: "tcpdump exited (signal 9)", "no space left on device", "tcpdump could not keep up", ... */
  reason: string;
  /** failed: the file stops early; restarted: it has a gap (the frames before are in `parts`). */
  state?: CaptureHealth['state'];
  restarts?: number;
  parts?: string[];
  /** Frames the archived file (and its earlier parts) holds, against the frames the link's
   *  counters saw while the lab ran: "738 of ~1805". Absent where either is unknown. */
  framesInFile?: number;
  framesOnLink?: number;
}

/** What the supervisor tells `down`: a link's capture that misses frames, with run-dir paths. */
export interface CaptureFault extends CaptureHealth {
  link: string;
  file: string;
}

/** The incomplete captures of an archive, from the supervisor's report and the files.
 *  `linkFrames`: frames each capture's link carried, by capture file name (its basename). */
export function incompleteCapturesIn(archive: string, faults: CaptureFault[], linkFrames: Record<string, number> = {}): IncompleteCapture[] {
  return findIncomplete(archive, faults).map((c) => withFrameCounts(c, linkFrames));
}

/** Adds what the file holds and what the link carried, so a reader sees how much is missing. */
function withFrameCounts(c: IncompleteCapture, linkFrames: Record<string, number>): IncompleteCapture {
  const onLink = linkFrames[basename(c.capture)];
  const counts = [c.capture, ...(c.parts ?? [])].map(countPcapRecords);
  const inFile = counts.some((n) => n === null) ? undefined : counts.reduce<number>((a, n) => a + n!, 0);
  return { ...c, ...(inFile !== undefined && { framesInFile: inFile }), ...(onLink !== undefined && { framesOnLink: onLink }) };
}

/** "738 of ~1805 frames in the file", or "" when the counts are not both known. */
export function describeFrameCounts(c: IncompleteCapture): string {
  if (c.framesInFile === undefined || c.framesOnLink === undefined) return '';
  return `${c.framesInFile} of ~${c.framesOnLink} frames the link carried are in the file`;
}

function findIncomplete(archive: string, faults: CaptureFault[]): IncompleteCapture[] {
  const found = new Map<string, IncompleteCapture>();
  const add = (c: IncompleteCapture) => {
    const seen = found.get(c.capture);
    if (!seen) return void found.set(c.capture, c);
    seen.reason = `${seen.reason}; ${c.reason}`;
    seen.missingFrames += c.missingFrames;
  };
  const inArchive = (file: string) => join(archive, basename(file));
  for (const f of faults)
    add({
      capture: inArchive(f.file),
      missingFrames: f.missingFrames ?? 0,
      reason: f.reason,
      state: f.state,
      restarts: f.restarts,
      ...(f.earlierParts.length && { parts: f.earlierParts.map(inArchive) }),
    });
  let names: string[] = [];
  try {
    names = readdirSync(archive);
  } catch {
    return [...found.values()];
  }
  for (const name of names) {
    const path = join(archive, name);
    if (name.endsWith(TCPDUMP_LOG_SUFFIX)) {
      const missed = framesMissedBy(readTextOrEmpty(path));
      if (missed > 0)
        add({
          capture: join(archive, name.slice(0, -TCPDUMP_LOG_SUFFIX.length) + '.pcap'),
          missingFrames: missed,
          reason: 'tcpdump could not keep up (the network carried them)',
        });
    } else if (name.endsWith('.pcap')) {
      const cut = trimToWholeRecords(path);
      if (cut > 0)
        add({ capture: path, missingFrames: 1, reason: `its last record was cut (${cut} bytes removed): its writer was killed or the disk was full` });
    }
  }
  return [...found.values()].sort((a, b) => a.capture.localeCompare(b.capture));
}
