// Pure readers of /proc text for `umlab doctor`: which mount holds a path, where UML puts
// its memory file, how much memory is free. The text comes from the probe (or a test).

export interface Mount {
  mountPoint: string;
  options: string[];
  fstype: string;
}

/** The mount that holds `path` (already resolved), from /proc/self/mountinfo text. */
export function mountFor(path: string, mountinfo: string): Mount | null {
  let best: Mount | null = null;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    const f = pre?.split(' ') ?? [];
    if (f.length < 6 || !post) continue;
    const mountPoint = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(mountPoint + '/');
    // Later lines are mounted over earlier ones at the same point: >= lets the last one win.
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, options: f[5].split(','), fstype: post.split(' ')[0] ?? '' };
  }
  return best;
}

/** The directory UML 6.1 maps guest memory from (arch/um/os-Linux/mem.c choose_tempdir). */
export function umlTempDir(env: NodeJS.ProcessEnv, mountinfo: string): string {
  for (const v of ['TMPDIR', 'TMP', 'TEMP']) if (env[v]) return env[v];
  return mountFor('/dev/shm', mountinfo)?.fstype === 'tmpfs' ? '/dev/shm' : '/tmp';
}

/** MemAvailable in MiB, or null when /proc/meminfo does not say. */
export function availableMiB(meminfo: string): number | null {
  const m = meminfo.match(/^MemAvailable:\s+(\d+) kB/m);
  return m ? Math.floor(Number(m[1]) / 1024) : null;
}
