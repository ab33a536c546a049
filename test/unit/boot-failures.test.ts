// diagnoseBootFailure: each known failure recognised in a console tail as UML prints it, and no false alarm.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnoseBootFailure } from '../../src/vm/boot-failures.ts';

// Noise a real tail starts with (the issue: these lines come first and hide the cause).
const NOISE = `SELinux:  Initializing.
ubd: Synchronous mode
Run /sbin/init as init process
`;

describe('diagnoseBootFailure', () => {
  it('ptrace register failure (host XSAVE area larger than UML 6.1 moves)', () => {
    const d = diagnoseBootFailure(
      `${NOISE}userspace - ptrace set fp regs failed, errno = 14\nKernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n`,
    );
    assert.equal(d?.id, 'xstate');
    assert.match(d!.cause, /SETREGSET, errno 14/);
    assert.match(d!.cause, /2696 bytes/);
    assert.match(d!.cause, /register fix was not applied or failed/);
    assert.equal(diagnoseBootFailure('get_fp_registers: ptrace get fp regs failed, errno = 5')?.id, 'xstate');
  });

  it('noexec temp dir: check_tmpexec messages, with and without `quiet`', () => {
    const quiet = diagnoseBootFailure('Operation not permitted\n/dev/shm must be not mounted noexec\n');
    assert.equal(quiet?.id, 'noexec');
    assert.match(quiet!.cause, /in \/dev\/shm executable/);
    assert.match(quiet!.hint, /TMPDIR/);
    const verbose = diagnoseBootFailure('Checking PROT_EXEC mmap in /tmp/x...Operation not permitted\n');
    assert.equal(verbose?.id, 'noexec');
    assert.match(verbose!.cause, /\/tmp\/x executable \(Operation not permitted\)/);
    assert.equal(diagnoseBootFailure('Checking PROT_EXEC mmap in /dev/shm...OK\nbooting'), null, 'the passing check is no failure');
  });

  it('temp file cannot be created (permission denied)', () => {
    const d = diagnoseBootFailure('open - cannot create /srv/t/vm_file-AbC123: Permission denied\n');
    assert.equal(d?.id, 'noexec');
    assert.match(d!.cause, /\/srv\/t.*Permission denied/);
  });

  it('out of memory: panic, deadlock, OOM kill', () => {
    assert.equal(diagnoseBootFailure('Kernel panic - not syncing: Out of memory and no killable processes...')?.id, 'memory');
    assert.equal(diagnoseBootFailure(`${NOISE}System is deadlocked on memory\n`)?.id, 'memory');
    const kill = diagnoseBootFailure('Out of memory: Killed process 42 (python3) total-vm:1kB\n');
    assert.equal(kill?.id, 'memory');
    assert.match(kill!.cause, /killed python3/);
    assert.match(kill!.hint, /memory: 256M/);
  });

  it("missing modules: insmod errors, overlay, the init's own message", () => {
    const kmod = diagnoseBootFailure(
      'insmod: ERROR: could not insert module /usr/lib/uml/modules/6.1.176/kernel/fs/overlayfs/overlay.ko: Invalid module format\n',
    );
    assert.equal(kmod?.id, 'modules');
    assert.match(kmod!.cause, /overlay\.ko/);
    assert.match(kmod!.hint, /--reinstall -y user-mode-linux/);
    assert.equal(diagnoseBootFailure("insmod: can't open '/usr/lib/uml/modules/6.1/kernel/fs/overlayfs/overlay.ko': No such file or directory")?.id, 'modules');
    assert.equal(diagnoseBootFailure('umlab: cannot load overlayfs\nreboot: Power down')?.id, 'modules');
    assert.equal(diagnoseBootFailure("mount: unknown filesystem type 'overlay'")?.id, 'modules');
  });

  it('the register failure wins over the panic lines that follow it', () => {
    assert.equal(diagnoseBootFailure('ptrace set fp regs failed, errno = 14\nOut of memory\n')?.id, 'xstate');
  });

  it('no known failure: null', () => {
    assert.equal(diagnoseBootFailure(`${NOISE}umlab: step failed: ip addr add 10.0.0.1/24 dev eth0\nRTNETLINK answers: File exists\n`), null);
    assert.equal(diagnoseBootFailure(''), null);
  });
});
