// Known ways a UML VM fails to boot, recognised in its console tail, so a failed `up`
// names the cause instead of leaving the user to read kernel messages. Pure: no I/O.

export interface BootDiagnosis {
  /** Which known failure matched (stable, for scripts and tests). */
  id: 'xstate' | 'noexec' | 'memory' | 'modules';
  /** One line: what went wrong, precisely. */
  cause: string;
  /** What to do about it. */
  hint: string;
}

interface KnownFailure {
  id: BootDiagnosis['id'];
  patterns: RegExp[];
  cause: (match: RegExpMatchArray) => string;
  hint: string;
}

/** Printed under every diagnosis by a failed `up`. */
export const RUN_DOCTOR = 'run `umlab doctor` to check this machine';

// Most specific first: a register failure also ends in a panic that mentions other things.
const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'xstate',
    // UML 6.1 arch/um/os-Linux/skas/process.c, at the first context switch into a guest process.
    patterns: [/ptrace (?:set|get) fp regs failed(?:, errno = (\d+))?/i],
    cause: (m) =>
      `the VM's kernel could not move its FPU registers (ptrace ${m[0].includes('set') ? 'SETREGSET' : 'GETREGSET'}${m[1] ? `, errno ${m[1]}` : ''}): ` +
      `this host's XSAVE area is bigger than the 2696 bytes Debian 12's UML 6.1 uses (a CPU with AMX?), and umlab's register fix was not applied or failed`,
    hint: 'check that UMLAB_XSTATE_FIX is not off and that cc can build native/xstate-fix.c',
  },
  {
    id: 'noexec',
    // arch/um/os-Linux/mem.c: check_tmpexec() and make_tempfile(), the file UML maps its memory from.
    patterns: [
      /(\S+) must be not mounted noexec/,
      /Checking PROT_EXEC mmap in (\S+?)\.\.\.(?!OK)(\S[^\n]*)/,
      /open - cannot create (\S+?)\/vm_file-\w+: ([^\n]+)/,
      /Failed to choose tempdir: ([^\n]+)/,
    ],
    cause: (m) =>
      m[0].includes('Failed to choose')
        ? `UML found no temporary directory for its memory file (${m[1]})`
        : `UML cannot map its memory file in ${m[1]} executable${m[2] ? ` (${m[2].trim()})` : ''}: the directory is on a noexec mount or not writable`,
    hint: `point TMPDIR at a writable directory on a mount without noexec (UML uses TMPDIR, else /dev/shm, else /tmp), or remount it: mount -o remount,exec <mount point>`,
  },
  {
    id: 'memory',
    patterns: [
      /Kernel panic - not syncing: Out of memory[^\n]*/,
      /System is deadlocked on memory/,
      /Out of memory: Killed process \d+ \(([^)]+)\)/,
      /Out of memory[^\n]*/,
    ],
    cause: (m) =>
      `the VM ran out of memory${m[1] ? ` (the kernel killed ${m[1]})` : ''}: its mem: is too small for what runs in it, or the host could not back it`,
    hint: `give the VM more memory (memory: 256M on the VM in the lab file; the default is 128M) and check the host's free memory`,
  },
  {
    id: 'modules',
    patterns: [
      /umlab: cannot load overlayfs/,
      /insmod: ERROR: could not (?:insert|load) module (\S+)[^\n]*/,
      /insmod: can't (?:insert|open) '?([^':\n]+)'?[^\n]*/,
      /unknown filesystem type 'overlay'/,
      /modprobe: (?:FATAL|ERROR): Module (\S+) not found[^\n]*/,
    ],
    cause: (m) =>
      `the VM could not load a kernel module${m[1] ? ` (${m[1]})` : ' (overlayfs, for its writable root)'}: ` +
      `the UML modules under /usr/lib/uml/modules/<version> are missing or do not match the kernel`,
    hint: 'reinstall them (as root): apt-get install --reinstall -y user-mode-linux',
  },
];

/** The known failure a VM's console tail shows, or null when none matches. */
export function diagnoseBootFailure(consoleTail: string): BootDiagnosis | null {
  for (const failure of KNOWN_FAILURES) {
    for (const pattern of failure.patterns) {
      const m = consoleTail.match(pattern);
      if (m) return { id: failure.id, cause: failure.cause(m), hint: failure.hint };
    }
  }
  return null;
}
