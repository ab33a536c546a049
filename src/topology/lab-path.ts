// Paths into a lab file ("vms.h1.interfaces.eth0") and which node of them a diagnostic
// points at: shared by the loader, the source map and the rules, so none imports another.

export type PathSegment = string | number;
export type NodePart = 'key' | 'value';

/** "vms.h1.interfaces.eth0.connect"; keys that are not plain words are quoted, indexes in brackets. */
export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
