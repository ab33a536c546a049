// Writes the class's reports into --out DIR (results.json, results.csv, per student a
// folder with junit.xml, an HTML page and the lab's captures, and index.html) and reads an earlier run for --rerun.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decodeCapture, formatTime } from '../capture/decode.ts';
import { classIndex, studentPage, type DecodedTail } from './html-report.ts';
import type { SubmissionResult } from './result.ts';
import { resultsCsv, resultsJson, studentJunit, type ClassReport } from './reports.ts';
import { slug } from './submissions.ts';

/** Folder names per student, unique even when two names give the same slug. */
export function studentFolders(students: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const s of students) {
    let name = slug(s);
    for (let i = 2; used.has(name); i++) name = `${slug(s)}-${i}`;
    used.add(name);
    out.set(s, name);
  }
  return out;
}

/** Moves a finished lab's kept captures and console logs into the student's folder. */
export function keepCaptures(result: SubmissionResult, outDir: string, folder: string): void {
  if (!result.captures || !existsSync(result.captures)) return;
  const dest = join(outDir, folder, 'captures');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(outDir, folder), { recursive: true });
  try {
    renameSync(result.captures, dest);
  } catch {
    cpSync(result.captures, dest, { recursive: true });
    rmSync(result.captures, { recursive: true, force: true });
  }
  result.captures = relative(outDir, dest);
}

export function writeReports(outDir: string, report: ClassReport, folders: Map<string, string>): void {
  mkdirSync(outDir, { recursive: true });
  for (const r of report.students) {
    const dir = join(outDir, folders.get(r.student) ?? slug(r.student));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'junit.xml'), studentJunit(r));
    const captures = r.captures ? join(outDir, r.captures) : '';
    const pcaps = captures && existsSync(captures) ? readdirSync(captures) : [];
    writeFileSync(join(dir, 'index.html'), studentPage(r, pcaps, decodedTails(r, captures, pcaps)));
  }
  writeFileSync(join(outDir, 'index.html'), classIndex(report.students, folders, report));
  writeFileSync(join(outDir, 'results.csv'), resultsCsv(report.students));
  writeFileSync(join(outDir, 'results.json'), resultsJson(report));
}

/** How many of a capture's last frames a student's page shows, decoded. */
const FRAMES_SHOWN = 40;

/** The captures of the links the failed checks were about, each decoded (its last frames); a
 *  file that cannot be read or decoded is left to its link. */
function decodedTails(r: SubmissionResult, captures: string, pcaps: string[]): Record<string, DecodedTail> {
  const wanted = new Set(r.checks.filter((c) => c.verdict !== 'pass').flatMap((c) => (c.links ?? []).map((l) => `${l}.pcap`)));
  const out: Record<string, DecodedTail> = {};
  for (const file of pcaps.filter((f) => wanted.has(f))) {
    try {
      const frames = decodeCapture(readFileSync(join(captures, file)));
      out[file] = { total: frames.length, lines: frames.slice(-FRAMES_SHOWN).map((f) => `${formatTime(f.time)} ${f.summary}`) };
    } catch {
      continue;
    }
  }
  return out;
}

/** The results of the last run in outDir, by student (for --rerun); empty when there is none. */
export function previousResults(outDir: string): Map<string, SubmissionResult> {
  try {
    const report = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as ClassReport;
    return new Map(report.students.map((r) => [r.student, r]));
  } catch {
    return new Map();
  }
}
