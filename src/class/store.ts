// A class's state in SQLite (better-sqlite3, WAL): the roster, the hashes of invitation tokens and
// session ids, each student's labs and their state, and the audit log. Every change is one
// transaction, so a server killed at any moment leaves the database as it was before or after.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { LabRuntimeError } from '../errors.ts';
import type { Principal } from './access.ts';
import type { Student } from './class-file.ts';
import { labNameFor, newSecret, secretHash } from './tokens.ts';

/** A lab's life as the class sees it. `starting` covers waiting in the queue and booting;
 *  `paused`: idle, its VMs frozen, resumed on the next visit (idle.ts). */
export type LabState = 'stopped' | 'starting' | 'running' | 'paused' | 'stopping' | 'failed';

export interface LabRow {
  student: string;
  assignment: string;
  /** Made once by labNameFor and read from here from then on. */
  lab: string;
  state: LabState;
  /** Why it failed, or stopped by itself ("idle"), when it did. */
  error: string | null;
  /** ms since the epoch of the last change. */
  updated: number;
}

/** One hand-in: where it is written (submit.ts) and what it holds. */
export interface SubmissionRow {
  id: number;
  student: string;
  assignment: string;
  at: number;
  /** The student's folder of the submission, absolute. */
  dir: string;
  /** `device:/path` of each file handed in. */
  files: string[];
  skipped: string[];
}

/** One student's result in one grading run of an assignment (the run's report has the details). */
export interface GradeRow {
  assignment: string;
  /** The run's folder under grades/<assignment>/. */
  stamp: string;
  student: string;
  /** umlab grade's word: graded, invalid, failed-to-start, timeout, interrupted. */
  status: string;
  points: number;
  maxPoints: number;
}

export interface ClassEvent {
  at: number;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'refused' | 'failed';
  detail: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS students (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, principal TEXT NOT NULL, created INTEGER NOT NULL, revoked INTEGER);
CREATE INDEX IF NOT EXISTS tokens_principal ON tokens (role, principal);
CREATE TABLE IF NOT EXISTS sessions (hash TEXT PRIMARY KEY, role TEXT NOT NULL, principal TEXT NOT NULL, created INTEGER NOT NULL, seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labs (student TEXT NOT NULL, assignment TEXT NOT NULL, lab TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
  error TEXT, updated INTEGER NOT NULL, PRIMARY KEY (student, assignment));
CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, student TEXT NOT NULL, assignment TEXT NOT NULL,
  at INTEGER NOT NULL, dir TEXT NOT NULL, files TEXT NOT NULL, skipped TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grades (assignment TEXT NOT NULL, stamp TEXT NOT NULL, student TEXT NOT NULL, status TEXT NOT NULL,
  points REAL NOT NULL, max_points REAL NOT NULL, PRIMARY KEY (assignment, stamp, student));
CREATE INDEX IF NOT EXISTS events_action ON events (action, outcome);
CREATE INDEX IF NOT EXISTS events_actor ON events (actor, at);
`;

const who = (p: Principal): [string, string] => (p.role === 'teacher' ? ['teacher', ''] : ['student', p.id]);
const principalOf = (role: string, id: string): Principal | null => (role === 'teacher' ? { role } : role === 'student' ? { role, id } : null);

/** How often a session's `seen` is written: what reads it needs minutes, not the request. */
const SEEN_EVERY_MS = 60_000;

export class ClassStore {
  private readonly db: Database.Database;
  /** When each session's `seen` was last written (by hash), in this process. */
  private readonly seenWritten = new Map<string, number>();
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (or makes, 0600) the class database at `path`. */
  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    // Made 0600 before SQLite opens it; its -wal and -shm files take the database's mode.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before the answer goes out (a power cut loses no invitation).
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (cause) {
      throw new LabRuntimeError(`cannot open the class database ${path}: ${(cause as Error).message}`, { cause });
    }
    for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  }

  close(): void {
    this.db.close();
  }

  /** A statement compiled once per server: compiling costs more than most of our queries. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** Makes the students table the roster's: new students added, names updated, the gone removed
   *  with their tokens and sessions (their labs' rows stay, so a running lab is still found). */
  syncRoster(roster: Student[]): void {
    const ids = new Set(roster.map((s) => s.id));
    this.db.transaction(() => {
      const upsert = this.sql('INSERT INTO students (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name');
      for (const s of roster) upsert.run(s.id, s.name);
      for (const row of this.sql('SELECT id FROM students').all() as { id: string }[]) {
        if (ids.has(row.id)) continue;
        this.sql('DELETE FROM students WHERE id = ?').run(row.id);
        this.sql("DELETE FROM tokens WHERE role = 'student' AND principal = ?").run(row.id);
        this.sql("DELETE FROM sessions WHERE role = 'student' AND principal = ?").run(row.id);
      }
    })();
  }

  students(): Student[] {
    return this.sql('SELECT id, name FROM students ORDER BY id').all() as Student[];
  }

  /** A new invitation token for `p`; every earlier one of `p` is revoked and their sessions end.
   *  The token itself is returned once and never stored. */
  issueToken(p: Principal): string {
    const token = newSecret();
    this.db.transaction(() => {
      this.revokeIn(p);
      this.sql('INSERT INTO tokens (hash, role, principal, created) VALUES (?, ?, ?, ?)').run(secretHash(token), ...who(p), this.now());
    })();
    return token;
  }

  /** Revokes `p`'s tokens and ends their sessions; false when there was nothing to revoke. */
  revoke(p: Principal): boolean {
    return this.db.transaction(() => this.revokeIn(p))();
  }

  private revokeIn(p: Principal): boolean {
    const [role, id] = who(p);
    const tokens = this.sql('UPDATE tokens SET revoked = ? WHERE role = ? AND principal = ? AND revoked IS NULL').run(this.now(), role, id);
    const sessions = this.sql('DELETE FROM sessions WHERE role = ? AND principal = ?').run(role, id);
    return tokens.changes + sessions.changes > 0;
  }

  /** Who a (not revoked) invitation token belongs to. */
  principalOfToken(token: string): Principal | null {
    const row = this.sql('SELECT role, principal FROM tokens WHERE hash = ? AND revoked IS NULL').get(secretHash(token)) as
      { role: string; principal: string } | undefined;
    return row ? principalOf(row.role, row.principal) : null;
  }

  /** A new session for `p`: the id for the cookie (stored hashed). */
  createSession(p: Principal): string {
    const id = newSecret();
    const t = this.now();
    this.sql('INSERT INTO sessions (hash, role, principal, created, seen) VALUES (?, ?, ?, ?, ?)').run(secretHash(id), ...who(p), t, t);
    return id;
  }

  /** Who a session belongs to (noting when it was seen, to the minute), or null for an unknown or ended one. */
  principalOfSession(id: string): Principal | null {
    const hash = secretHash(id);
    const row = this.sql('SELECT role, principal FROM sessions WHERE hash = ?').get(hash) as { role: string; principal: string } | undefined;
    if (!row) return null;
    // A commit waits for the disk (synchronous = FULL): not one per request, once a minute per session.
    const t = this.now();
    if (t - (this.seenWritten.get(hash) ?? 0) >= SEEN_EVERY_MS) {
      this.sql('UPDATE sessions SET seen = ? WHERE hash = ?').run(t, hash);
      this.seenWritten.set(hash, t);
    }
    return principalOf(row.role, row.principal);
  }

  /** The row of a student's copy of an assignment, made (stopped, with its lab name) on first use. */
  lab(student: string, assignment: string): LabRow {
    const get = () => this.sql('SELECT * FROM labs WHERE student = ? AND assignment = ?').get(student, assignment) as LabRow | undefined;
    const found = get();
    if (found) return found;
    this.db
      .prepare("INSERT OR IGNORE INTO labs (student, assignment, lab, state, error, updated) VALUES (?, ?, ?, 'stopped', NULL, ?)")
      .run(student, assignment, labNameFor(student, assignment), this.now());
    return get()!;
  }

  labs(): LabRow[] {
    return this.sql('SELECT * FROM labs ORDER BY student, assignment').all() as LabRow[];
  }

  setLabState(student: string, assignment: string, state: LabState, error: string | null = null): void {
    this.lab(student, assignment);
    this.db
      .prepare('UPDATE labs SET state = ?, error = ?, updated = ? WHERE student = ? AND assignment = ?')
      .run(state, error, this.now(), student, assignment);
  }

  addSubmission(s: Omit<SubmissionRow, 'id'>): SubmissionRow {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO submissions (student, assignment, at, dir, files, skipped) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.student, s.assignment, s.at, s.dir, JSON.stringify(s.files), JSON.stringify(s.skipped));
    return { id: Number(lastInsertRowid), ...s };
  }

  /** A student's submissions of an assignment, newest first (every student's when `student` is null). */
  submissions(assignment: string, student: string | null): SubmissionRow[] {
    const rows = (
      student === null
        ? this.sql('SELECT * FROM submissions WHERE assignment = ? ORDER BY id DESC').all(assignment)
        : this.sql('SELECT * FROM submissions WHERE assignment = ? AND student = ? ORDER BY id DESC').all(assignment, student)
    ) as (Omit<SubmissionRow, 'files' | 'skipped'> & { files: string; skipped: string })[];
    return rows.map((r) => ({ ...r, files: JSON.parse(r.files) as string[], skipped: JSON.parse(r.skipped) as string[] }));
  }

  /** A grading run's results, all or none. */
  addGrades(rows: GradeRow[]): void {
    const insert = this.sql('INSERT OR REPLACE INTO grades (assignment, stamp, student, status, points, max_points) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const g of rows) insert.run(g.assignment, g.stamp, g.student, g.status, g.points, g.maxPoints);
    })();
  }

  /** Each student's result in the latest run that graded them, by "student/assignment". */
  latestGrades(): Map<string, GradeRow> {
    const rows = this.sql(
      'SELECT assignment, stamp, student, status, points, max_points AS maxPoints FROM grades g WHERE stamp = (SELECT MAX(stamp) FROM grades WHERE assignment = g.assignment AND student = g.student)',
    ).all() as GradeRow[];
    return new Map(rows.map((g) => [`${g.student}/${g.assignment}`, g]));
  }

  /** One line of the audit log. */
  event(e: Omit<ClassEvent, 'at'>): void {
    this.db
      .prepare('INSERT INTO events (at, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(this.now(), e.actor, e.action, e.target, e.outcome, e.detail);
  }

  /** The latest events, newest first. */
  events(limit = 100): ClassEvent[] {
    return this.sql('SELECT at, actor, action, target, outcome, detail FROM events ORDER BY id DESC LIMIT ?').all(limit) as ClassEvent[];
  }

  /** Each lab's latest jump to a stage that went well ("student/assignment" -> stage and time). */
  lastStages(): Map<string, { stage: string; at: number }> {
    const rows = this.db
      .prepare("SELECT target, detail, at FROM events WHERE id IN (SELECT MAX(id) FROM events WHERE action = 'stage' AND outcome = 'ok' GROUP BY target)")
      .all() as { target: string; detail: string; at: number }[];
    return new Map(rows.map((r) => [r.target, { stage: r.detail, at: r.at }]));
  }

  /** Each actor's latest event time: a student's last activity. */
  lastActivity(): Map<string, number> {
    const rows = this.sql('SELECT actor, MAX(at) AS at FROM events GROUP BY actor').all() as { actor: string; at: number }[];
    return new Map(rows.map((r) => [r.actor, r.at]));
  }
}
