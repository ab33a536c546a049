// The teacher's grading over HTTP (server.ts routes here): start a run, list the runs, and serve
// a report's files, each inside its run's folder (grading.ts decides which file that is).
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { ClassGrading } from './grading.ts';
import { HEADERS, HttpAnswer, sendJson } from './http.ts';

const REPORT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  xml: 'application/xml',
  pcap: 'application/vnd.tcpdump.pcap',
  log: 'text/plain; charset=utf-8',
};

/** The teacher's grading: start a run, list the runs, read a report's files. */
export function answerGrading(grading: ClassGrading, assignment: string | null, actor: string, method: string, path: string, res: ServerResponse): void {
  if (assignment !== null) {
    if (method !== 'POST') throw new HttpAnswer(405, 'POST to grade');
    if (!grading.knows(assignment)) throw new HttpAnswer(404, `no assignment ${assignment}`);
    return sendJson(res, 202, grading.start(assignment, actor));
  }
  if (method !== 'GET' && method !== 'HEAD') throw new HttpAnswer(405, 'GET the grading runs and their reports');
  if (path === '/api/grades') return sendJson(res, 200, grading.runs());
  const m = /^\/grades\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
  const file = m && grading.reportFile(decodeURIComponent(m[1]), m[2], decodeURIComponent(m[3]));
  if (!file) throw new HttpAnswer(404, `nothing at ${path}`);
  const type = REPORT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
  // The reports are umlab grade's own pages: no script runs (their column sorting is off here).
  res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" });
  res.end(readFileSync(file));
}
