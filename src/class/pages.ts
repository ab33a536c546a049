// The class's two pages, rendered on the server with the state inside (a first paint that is
// already right) and refreshed by one small script over the JSON API; no framework, no build.
import type { GradeRun } from './grading.ts';
import { labViewPath } from './lab-web.ts';
import type { ClassService, LabView } from './service.ts';

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const stateText = (lab: LabView): string =>
  lab.state === 'starting' && lab.queue !== null
    ? `waiting (${lab.queue} in the queue)`
    : lab.state === 'paused'
      ? 'paused (idle: opening it resumes it)'
      : lab.state + (lab.error ? ` (${lab.error})` : '');

const page = (title: string, kind: 'student' | 'teacher', body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/class.css"></head>
<body data-page="${kind}"><main>${body}</main><p role="status" id="message"></p><section id="checks" aria-live="polite"></section><script src="/class.js"></script></body></html>
`;

/** What the student's page adds to a lab: whether the teacher watches it or joined a terminal, and the latest hand-in. */
export interface StudentExtras {
  watched?: boolean;
  joined?: boolean;
  submitted?: { at: number; files: number } | null;
  /** The assignment's stages, and the one the running lab was last put at. */
  stages?: { id: string; title: string }[];
  stage?: string | null;
}

/** A row under the lab's: its stages, each with a button that jumps the running lab to it. */
function stagesRow(lab: LabView & StudentExtras, path: string, columns: number): string {
  if (!lab.stages?.length) return '';
  const items = lab.stages.map((st) => {
    const here = st.id === lab.stage ? ' <strong>(here)</strong>' : '';
    const button = `<button type="button" data-post="${escapeHtml(`${path}/stages/${encodeURIComponent(st.id)}`)}">jump here</button>`;
    return `<li data-stage="${escapeHtml(st.id)}">${escapeHtml(st.title)}${here} ${button}</li>`;
  });
  return `<tr class="stages"><td></td><td colspan="${columns}">stages: <ol>${items.join('')}</ol></td></tr>`;
}

const when = (at: number) => new Date(at).toISOString().replace('T', ' ').slice(0, 19);

/** A lab's cells: its state, its VMs (with a link to the lab in the browser while it runs), its buttons. */
function labRow(lab: LabView & StudentExtras, buttons: string[], path: string, student: string, open: string): string {
  const vms = lab.vms.map((vm) => `${vm.name}: ${vm.state}`).join(', ');
  const actions = buttons.map((b) => `<button type="button" data-post="${escapeHtml(`${path}/${b}`)}">${b}</button>`).join(' ');
  const link =
    lab.state === 'running' || lab.state === 'paused'
      ? ` <a class="open" href="${escapeHtml(labViewPath(student, lab.assignment))}" target="_blank">${open}</a>`
      : '';
  const watched = lab.joined
    ? ' <strong class="watched joined">the teacher joined a terminal of this lab (you both type)</strong>'
    : lab.watched
      ? ' <strong class="watched">the teacher is watching this lab</strong>'
      : '';
  const stage = lab.stage ? ` <small class="stage">at stage ${escapeHtml(lab.stage)}</small>` : '';
  // A reset can take less than the pages' 2 s refresh: the time tells a restarted lab apart.
  const since = ` <small class="since">${escapeHtml(lab.state)} since ${when(lab.updated)} UTC</small>`;
  const handedIn =
    lab.submitted === undefined
      ? ''
      : `<td class="submitted">${lab.submitted ? `<a href="${escapeHtml(`${path}/submit`)}">${when(lab.submitted.at)} UTC (${lab.submitted.files} files)</a>` : 'not yet'}</td>`;
  return `<td class="state" data-state="${lab.state}">${escapeHtml(stateText(lab))}</td><td>${escapeHtml(vms)}${link}${since}${watched}${stage}</td>${handedIn}<td>${actions}</td>`;
}

type StudentView = ReturnType<ClassService['studentView']>;

export function studentPage(
  view: Omit<StudentView, 'assignments'> & { assignments: (StudentView['assignments'][number] & StudentExtras)[] },
  className: string,
): string {
  const rows = view.assignments
    .map(
      (lab) =>
        `<tr data-assignment="${escapeHtml(lab.assignment)}"><th scope="row">${escapeHtml(lab.title)}</th>${labRow(lab, ['start', 'stop', 'reset', 'submit', 'checks'], `/api/labs/${encodeURIComponent(lab.assignment)}`, view.student.id, 'open the lab')}</tr>` +
        stagesRow(lab, `/api/labs/${encodeURIComponent(lab.assignment)}`, 4),
    )
    .join('\n');
  return page(
    `${className}: ${view.student.name}`,
    'student',
    `<h1>${escapeHtml(className)}</h1><p>Signed in as ${escapeHtml(view.student.name)} (${escapeHtml(view.student.id)}).</p>
<table id="labs"><thead><tr><th>assignment</th><th>lab</th><th>VMs</th><th>handed in</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

/** The grading runs, newest first, each with its report once written. */
function gradeRuns(runs: GradeRun[]): string {
  const items = runs.map((r) => {
    const what = `${escapeHtml(r.assignment)}, ${escapeHtml(r.stamp)}`;
    if (r.state === 'done') return `<li><a href="/grades/${encodeURIComponent(r.assignment)}/${encodeURIComponent(r.stamp)}/index.html">${what}</a></li>`;
    return `<li>${what}: ${r.state === 'grading' ? `grading ${r.students.length} submissions...` : `failed (${escapeHtml(r.error ?? '')})`}</li>`;
  });
  return `<h2>grading</h2>${items.length ? `<ul id="grades">${items.join('')}</ul>` : '<p>no run yet</p>'}`;
}

type ClassView = ReturnType<ClassService['classView']>;

/** The teacher's table; each lab may carry its latest hand-in (a column of its own then). */
export function teacherPage(
  view: Omit<ClassView, 'students'> & { students: (Omit<ClassView['students'][number], 'labs'> & { labs: (LabView & StudentExtras)[] })[] },
  runs: GradeRun[] | null = null,
): string {
  const columns = view.students[0]?.labs[0]?.submitted === undefined ? 3 : 4;
  const head = view.assignments
    .map((a) => {
      const button =
        runs === null ? '' : ` <button type="button" data-post="/api/assignments/${escapeHtml(encodeURIComponent(a.id))}/grade">grade all</button>`;
      return `<th colspan="${columns}">${escapeHtml(a.title)}${button}</th>`;
    })
    .join('');
  const rows = view.students
    .map((s) => {
      const labs = s.labs
        .map((lab) => labRow(lab, ['stop', 'reset'], `/api/students/${encodeURIComponent(s.id)}/labs/${encodeURIComponent(lab.assignment)}`, s.id, 'watch'))
        .join('');
      const seen = s.lastActivity === null ? '-' : when(s.lastActivity);
      return `<tr data-student="${escapeHtml(s.id)}"><th scope="row">${escapeHtml(s.name)} <small>${escapeHtml(s.id)}</small></th><td>${seen}</td>${labs}</tr>`;
    })
    .join('\n');
  return page(
    `${view.name}: teacher`,
    'teacher',
    `<h1>${escapeHtml(view.name)}</h1><p id="budget">memory: ${view.usedMiB} of ${view.budgetMiB} MiB in use, ${view.queued} waiting</p>
<p><a href="/api/class.csv" download>the table as CSV</a></p>
<table id="class"><thead><tr><th>student</th><th>last activity</th>${head}</tr></thead><tbody>${rows}</tbody></table>${runs === null ? '' : gradeRuns(runs)}`,
  );
}

export const PAGE_CSS = `body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; color: #222 }
table { border-collapse: collapse } th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left }
td.state[data-state="running"] { color: #060 } td.state[data-state="failed"] { color: #a00 } td.state[data-state="starting"], td.state[data-state="paused"] { color: #850 }
button { margin: 0 .2em } #message { color: #a00 } #message[data-kind="done"] { color: #060 } .watched { color: #850 }
#checks li[data-status="pass"]::marker { color: #060 } #checks li[data-status="fail"], #checks li[data-status="error"] { color: #a00 }
`;

/** Buttons post to the API; the page reloads its table from the server's HTML every 2 s. */
export const PAGE_JS = `'use strict';
const message = document.getElementById('message');
async function refresh() {
  const res = await fetch(location.pathname, { headers: { Accept: 'text/html', 'X-Umlab-Refresh': '1' } });
  if (!res.ok) { message.textContent = 'signed out (' + res.status + ')'; return; }
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const next = doc.querySelector('main');
  if (next) document.querySelector('main').replaceWith(next);
}
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-post]');
  if (!button) return;
  button.disabled = true;
  const res = await fetch(button.dataset.post, { method: 'POST' });
  const answer = await res.json().catch(() => ({}));
  message.textContent = res.ok ? '' : answer.error || 'refused (' + res.status + ')';
  message.dataset.kind = res.ok ? 'done' : 'refused';
  if (res.ok && Array.isArray(answer.results)) showChecks(answer);
  if (res.ok && Array.isArray(answer.applied)) message.textContent = 'put at stage ' + answer.stage + (answer.ok ? '' : ' (a startup script failed: ' + answer.applied.filter((a) => a.startup && a.startup.exitCode !== 0).map((a) => a.device).join(', ') + ')');
  if (res.ok && Array.isArray(answer.files)) message.textContent = 'handed in ' + answer.files.length + ' files' + (answer.files.length ? ': ' + answer.files.join(', ') : '') + (answer.skipped.length ? ', left out: ' + answer.skipped.join('; ') : '');
  await refresh();
});
/** The checks' results, built as elements (a check's message is the lab's text, never HTML). */
function showChecks(answer) {
  const section = document.getElementById('checks');
  const passed = answer.results.filter((r) => r.status === 'pass').length;
  const head = document.createElement('h2');
  head.textContent = 'checks of ' + answer.assignment + ': ' + passed + ' of ' + answer.results.length + ' passed';
  const list = document.createElement('ul');
  for (const r of answer.results) {
    const item = document.createElement('li');
    item.dataset.status = r.status;
    item.textContent = r.status.toUpperCase() + ' ' + (r.stage ? '[stage ' + r.stage + '] ' : '') + r.name + ': ' + r.message;
    list.append(item);
  }
  section.replaceChildren(head, list);
}
setInterval(() => { refresh().catch(() => {}); }, 2000);
`;
