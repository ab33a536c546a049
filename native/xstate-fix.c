// umlab's FPU-state fix for Debian 12's UML kernel (6.1) on hosts whose XSAVE area is
// larger than UML's fixed buffer (CPUs with AMX: ~11 KiB against UML's 2696 bytes).
//
// UML moves each guest process's FPU/vector registers with PTRACE_GETREGSET and
// PTRACE_SETREGSET (NT_X86_XSTATE). The host kernel truncates a short GET but refuses a
// SET of any size but its own (EFAULT), so every VM dies at its first context switch.
// Preloaded into linux.uml only (umlab runs it as `env LD_PRELOAD=<this> linux.uml ...`),
// this ptrace() gives the kernel full-size buffers and UML its prefix:
//   GET: read the full state into a private buffer, copy UML's prefix out (1 syscall).
//   SET: UML's prefix over the full-size tail, then SET the full size (1 syscall).
// The tail (past UML's buffer) is the AMX tile state, which a guest process can never
// enable (UML grants no ARCH_REQ_XCOMP_PERM), so it is always the initial state. The tail
// of the first full GET is kept; every later GET checks it, and should one ever differ,
// each SET first reads the target's current tail (one extra syscall) from then on.
//
// Build: cc -O2 -shared -fPIC -o xstate-fix.so xstate-fix.c -ldl
// Compiled with -DXSTATE_PROBE it is instead a program that prints the host's xstate size
// as ptrace sees it (used by umlab to decide whether the fix is needed, and by doctor).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
// Larger than any XSAVE area a CPU has today (AMX: 11008 bytes); the kernel says the real size.
#define MAX_XSTATE 65536

#ifdef XSTATE_PROBE
// Prints "<bytes>": the NT_X86_XSTATE regset size of this host, read from a traced child.
int main(void) {
  pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    _exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) return 2;
  static unsigned char buf[MAX_XSTATE];
  struct iovec iov = {buf, sizeof buf};
  long r = ptrace(PTRACE_GETREGSET, child, (void *)NT_X86_XSTATE, &iov);
  int err = errno;
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  if (r < 0) {
    fprintf(stderr, "PTRACE_GETREGSET NT_X86_XSTATE: %s\n", strerror(err));
    return 1;
  }
  printf("%zu\n", iov.iov_len);
  return 0;
}
#else

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);
static ptrace_fn real_ptrace;
static size_t host_size;  // 0 until the first NT_X86_XSTATE request
static unsigned char full[MAX_XSTATE];  // UML's ptrace calls come from one thread
static unsigned char tail[MAX_XSTATE];
static size_t tail_from;  // UML's size when `tail` was saved; 0: not yet
static int tail_varies;

static long fail(int err) {
  errno = err;
  return -1;
}

// GET the whole state of `pid` into `full`; learns the host's size on first use.
static long get_full(pid_t pid) {
  struct iovec iov = {full, host_size ? host_size : sizeof full};
  long r = real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov);
  if (r == 0 && !host_size) host_size = iov.iov_len;
  return r;
}

static long xstate(enum __ptrace_request req, pid_t pid, struct iovec *uml) {
  if (host_size && uml->iov_len >= host_size) return real_ptrace(req, pid, (void *)NT_X86_XSTATE, uml);
  size_t n = uml->iov_len;
  if (req == PTRACE_GETREGSET) {
    long r = get_full(pid);
    if (r < 0) return r;
    if (n >= host_size) return real_ptrace(req, pid, (void *)NT_X86_XSTATE, uml);  // first call, not short after all
    memcpy(uml->iov_base, full, n);
    if (tail_from != n) {
      memcpy(tail, full + n, host_size - n);
      tail_from = n;
    } else if (memcmp(tail, full + n, host_size - n) != 0) {
      tail_varies = 1;
    }
    return 0;
  }
  // SET: needs the tail, from the first GET or, if it ever varied, from the target now.
  if (!host_size || tail_from != n || tail_varies) {
    long r = get_full(pid);
    if (r < 0) return r;
    if (n >= host_size) return real_ptrace(req, pid, (void *)NT_X86_XSTATE, uml);
  } else {
    memcpy(full + n, tail, host_size - n);
  }
  memcpy(full, uml->iov_base, n);
  struct iovec iov = {full, host_size};
  return real_ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &iov);
}

// glibc declares ptrace(request, ...) and always reads pid, addr and data.
long ptrace(enum __ptrace_request req, ...) {
  va_list ap;
  va_start(ap, req);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (!real_ptrace) {
    real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
    if (!real_ptrace) return fail(ENOSYS);
  }
  if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) && (unsigned long)addr == NT_X86_XSTATE && data) {
    struct iovec *iov = data;
    if (iov->iov_len > 0 && iov->iov_len < MAX_XSTATE) return xstate(req, pid, iov);
  }
  return real_ptrace(req, pid, addr, data);
}
#endif
