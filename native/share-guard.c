// umlab's share guard, preloaded into every linux.uml: a seccomp filter that stops the UML
// process from making, on the host, what a VM's root could abuse through a read-write share:
// device nodes (mknod of a character or block device), set-user-ID or set-group-ID files
// (chmod/fchmod/fchmodat/fchmodat2, open/openat/creat with O_CREAT and those bits), and
// extended attributes (setxattr family: file capabilities live there). UML's own files
// (COW files, sockets, its memory file) need none of it. A guest's own system calls never
// reach the host kernel (UML intercepts them with ptrace), so only hostfs writes are
// affected: they fail with EPERM in the VM.
//
// Build: cc -O2 -shared -fPIC -o share-guard.so share-guard.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif

// Low 32 bits of argument n (x86-64 is little-endian; modes and flags fit in 32 bits).
#define ARG(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
// if (nr == NR) go on with the next instruction, else skip `skip` instructions.
#define IF_NR(NR, skip) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (NR), 0, (skip))
// Deny when the mode in argument n has set-ID bits (3 instructions).
#define DENY_SETID(n) LOAD(ARG(n)), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 0, 1), DENY
#define NR LOAD(offsetof(struct seccomp_data, nr))

static struct sock_filter filter[] = {
    LOAD(offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    ALLOW,
    // Device nodes: mknod(path, mode, dev), mknodat(dir, path, mode, dev).
    NR, IF_NR(__NR_mknod, 5), LOAD(ARG(1)), BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 1, 0), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 0, 1), DENY,
    NR, IF_NR(__NR_mknodat, 5), LOAD(ARG(2)), BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 1, 0), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 0, 1), DENY,
    // Set-ID bits by chmod.
    NR, IF_NR(__NR_chmod, 3), DENY_SETID(1),
    NR, IF_NR(__NR_fchmod, 3), DENY_SETID(1),
    NR, IF_NR(__NR_fchmodat, 3), DENY_SETID(2),
    NR, IF_NR(__NR_fchmodat2, 3), DENY_SETID(2),
    // Set-ID bits at creation: creat(path, mode), open(path, flags, mode), openat(dir, path, flags, mode).
    NR, IF_NR(__NR_creat, 3), DENY_SETID(1),
    NR, IF_NR(__NR_open, 5), LOAD(ARG(1)), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT, 0, 3), DENY_SETID(2),
    NR, IF_NR(__NR_openat, 5), LOAD(ARG(2)), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT, 0, 3), DENY_SETID(3),
    // openat2 keeps its mode in a struct seccomp cannot read: ENOSYS makes callers fall back to openat.
    NR, IF_NR(__NR_openat2, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    // Extended attributes (file capabilities).
    NR, IF_NR(__NR_setxattr, 1), DENY,
    NR, IF_NR(__NR_lsetxattr, 1), DENY,
    NR, IF_NR(__NR_fsetxattr, 1), DENY,
    NR, IF_NR(__NR_setxattrat, 1), DENY,
    ALLOW,
};

__attribute__((constructor)) static void share_guard(void) {
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    // Fail closed: a VM that could plant device nodes or set-ID files on the host must not run.
    fprintf(stderr, "umlab share guard: cannot install its seccomp filter: %s\n", strerror(errno));
    _exit(70);
  }
}
