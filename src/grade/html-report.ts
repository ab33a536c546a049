// The class's HTML reports: one page per student (every check that did not pass with its
// reason, commands, output and the captures of the links involved) and a sortable index.
// Pure; everything a submission wrote (names, output, reasons) is escaped: it is untrusted.
import { passedCount, type CheckOutcome, type SubmissionResult } from './result.ts';

/** Text as HTML text or attribute value: nothing in it can open a tag, an attribute or an entity. */
export const escapeHtml = (s: string | number): string => String(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A path segment as a URL part (a student folder or a pcap name), then escaped for the attribute. */
const href = (...parts: string[]) => escapeHtml(parts.map(encodeURIComponent).join('/'));

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eee;cursor:pointer}.pass{color:#060}.fail,.error{color:#a00}.not-supported{color:#777}
pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;word-break:break-all;max-height:30em;overflow:auto}`;

const page = (title: string, body: string[], script = '') =>
  [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    ...body,
    script,
    '</body></html>',
    '',
  ].join('\n');

const verdictCell = (v: string) => `<span class="${escapeHtml(v)}">${escapeHtml(v)}</span>`;

/** A capture's frames as the page shows them: how many there are, and the last ones decoded. */
export interface DecodedTail {
  total: number;
  /** One line per frame, "time summary", the capture's last ones. */
  lines: string[];
}

/** The pcap files (names in the student's captures folder) of the links a check was about, each
 *  with its last frames decoded (what was, or was not, sent on the link). */
function captureLinks(c: CheckOutcome, capturesDir: string | undefined, pcaps: string[], decoded: Record<string, DecodedTail>): string {
  if (!capturesDir || !c.links?.length) return '';
  const files = c.links.map((l) => `${l}.pcap`).filter((f) => pcaps.includes(f));
  if (files.length === 0) return '';
  const items = files.map((f) => `<a href="${href(...capturesDir.split('/').slice(1), f)}">${escapeHtml(f)}</a>`);
  const tails = files.flatMap((f) => {
    const tail = decoded[f];
    if (!tail) return [];
    const what = tail.lines.length < tail.total ? `the last ${tail.lines.length} of ${tail.total} frames` : `its ${tail.total} frames`;
    return [`<details><summary>${escapeHtml(f)}: ${what}, decoded</summary><pre class="frames">${escapeHtml(tail.lines.join('\n'))}</pre></details>`];
  });
  return [`<p>Captures of the links involved (Wireshark, or <code>umlab capture show FILE</code>): ${items.join(', ')}</p>`, ...tails].join('\n');
}

function checkSection(c: CheckOutcome, capturesDir: string | undefined, pcaps: string[], decoded: Record<string, DecodedTail>): string {
  return [
    `<section class="check"><h3>${verdictCell(c.verdict)} ${escapeHtml(c.description)}${c.hidden ? ' <small>(hidden)</small>' : ''}</h3>`,
    `<p class="reason">${escapeHtml(c.reason)}</p>`,
    `<p>${escapeHtml(c.points)} of ${escapeHtml(c.maxPoints)} points${c.group ? ` (group ${escapeHtml(c.group)})` : ''}${c.tries ? `, ${escapeHtml(c.tries)} tries` : ''}</p>`,
    c.commands.length
      ? `<p>Commands run (repeat with <code>umlab exec VM -- COMMAND</code>):</p><pre class="commands">${escapeHtml(c.commands.join('\n'))}</pre>`
      : '',
    c.detail ? `<p>Output:</p><pre class="output">${escapeHtml(c.detail)}</pre>` : '',
    captureLinks(c, capturesDir, pcaps, decoded),
    '</section>',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * One student's page, written as STUDENT/index.html; `pcaps` are the files of its captures folder.
 * Failed checks come first, with their evidence; passed ones are listed with their time to pass.
 */
export function studentPage(r: SubmissionResult, pcaps: string[], decoded: Record<string, DecodedTail> = {}): string {
  const failed = r.checks.filter((c) => c.verdict !== 'pass');
  const passed = r.checks.filter((c) => c.verdict === 'pass');
  const capturesDir = r.captures?.replace(/\\/g, '/');
  return page(`${r.student}: ${r.points}/${r.maxPoints} points`, [
    '<p><a href="../index.html">class</a></p>',
    `<h1>${escapeHtml(r.student)}</h1>`,
    `<p>${escapeHtml(r.points)} of ${escapeHtml(r.maxPoints)} points; ${passedCount(r)} of ${r.checks.length} checks passed; status ${escapeHtml(r.status)}; ${escapeHtml(r.seconds)} s.</p>`,
    r.problem ? `<pre class="problem">${escapeHtml(r.problem)}</pre>` : '',
    r.warnings.length ? `<p>Warnings:</p><pre>${escapeHtml(r.warnings.join('\n'))}</pre>` : '',
    `<h2>Checks that did not pass (${failed.length})</h2>`,
    ...failed.map((c) => checkSection(c, capturesDir, pcaps, decoded)),
    `<h2>Checks that passed (${passed.length})</h2>`,
    '<table><tr><th>check</th><th>points</th><th>passed after</th></tr>',
    ...passed.map((c) => `<tr><td>${escapeHtml(c.description)}</td><td>${escapeHtml(c.points)}</td><td>${escapeHtml(c.secondsToPass ?? '')} s</td></tr>`),
    '</table>',
    capturesDir && pcaps.length ? `<p>All captures and console logs: <a href="${href(...capturesDir.split('/').slice(1))}/">captures/</a></p>` : '',
  ]);
}

// Sorts the index table by the clicked column (numbers as numbers), again to reverse.
const SORT_JS = `<script>
document.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0], rows = [...body.rows], up = th.dataset.up !== '1';
  const key = (r) => { const t = r.cells[i].dataset.v ?? r.cells[i].textContent; return isNaN(t) || t === '' ? t : Number(t); };
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (up ? 1 : -1));
  th.dataset.up = up ? '1' : '0'; body.append(...rows);
}));
</script>`;

/** The class's index.html: one row per student, linked to its page; click a heading to sort. */
export function classIndex(students: SubmissionResult[], folders: Map<string, string>, meta: { spec: string; generated: string }): string {
  const rows = students.map((r) => {
    const folder = folders.get(r.student) ?? r.student;
    const cells = [
      `<td><a href="${href(folder, 'index.html')}">${escapeHtml(r.student)}</a></td>`,
      `<td>${escapeHtml(r.points)}</td><td>${escapeHtml(r.maxPoints)}</td>`,
      `<td>${passedCount(r)}</td><td>${r.checks.length - passedCount(r)}</td>`,
      `<td>${escapeHtml(r.status)}</td><td>${escapeHtml(r.seconds)}</td>`,
      `<td>${escapeHtml(
        r.checks
          .filter((c) => c.verdict !== 'pass')
          .map((c) => c.description)
          .join('; '),
      )}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return page(
    'Grades',
    [
      '<h1>Grades</h1>',
      `<p>Spec ${escapeHtml(meta.spec)}, generated ${escapeHtml(meta.generated)}. Click a heading to sort.</p>`,
      '<table id="grades"><thead><tr><th>student</th><th>points</th><th>max</th><th>passed</th><th>failed</th><th>status</th><th>seconds</th><th>not passed</th></tr></thead>',
      '<tbody>',
      ...rows,
      '</tbody></table>',
    ],
    SORT_JS,
  );
}
