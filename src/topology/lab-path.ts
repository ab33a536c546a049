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

/** A value as an error message names it: "empty", "a list", "a map", or its type and text. */
export function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** "/vms/h1/routes/0" -> ["vms", "h1", "routes", 0] (JSON pointer unescaping; numeric parts are indexes). */
export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}
