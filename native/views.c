// umlab-views: builds a lab's read-only view of the host and each VM's copy of it
// (src/runtime/host-view.ts) in one process: the steps a shell script did with ~70 processes
// (mkdir, ln, mount(8), awk, find), each a tenth of a second on a loaded host; and with 150
// VMs the mount table holds ~5,000 entries, which every mount(8) re-read.
//
// Input on stdin, one step per line, fields separated by tabs (paths are absolute):
//   tmpfs T                 an empty tmpfs (mode 0755, 4 MiB) at T
//   copy SRC DST            a copy of the file SRC, mode 0755
//   symlink SRC DST         a symlink at DST with SRC's target
//   rbind SRC DST           DST made, SRC bound there with everything mounted below it
//   dir PATH [MODE]         PATH made with its parents (0755 less the umask), then given MODE (octal)
//   masks M                 M/dir (empty directory) and M/file (empty, 0444): what hides a secret
//   bind SRC DST            SRC bound at DST
//   readonly T              every mount at or below T made read-only and nosymfollow
//   scan DIR M              every directory under DIR other users may not list or enter, and
//                           every file they may not read, hidden by M/dir or M/file (read-only);
//                           each filesystem mounted below DIR walked on its own, FUSE ones not
//   share SRC DST           SRC bound at DST read-write, without device nodes or set-id bits
//   private T               T and everything below it private (no propagation to the host)
//   view T VM_VIEW OWN      VM_VIEW: a private recursive copy of T with the VM's own directory
//                           OWN bound in, read-only
//   probe P                 fails unless writing in P fails
// Any failure prints "umlab: ..." on stderr and exits 1: the lab does not start half-isolated.
//
// Build: cc -O2 -o umlab-views views.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

#define MAX_PATH 4096

static void fail(const char *what, const char *path) {
  fprintf(stderr, "umlab: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

/* mkdir -p, 0755. */
static void make_dirs(const char *path) {
  char buf[MAX_PATH];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    fail("cannot make", path);
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) fail("cannot make", buf);
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) fail("cannot make", buf);
}

/* The flags the kernel may lock on a mount (in a user namespace) and a remount must repeat, as mount(8) does. */
static unsigned long kept_flags(const char *path) {
  struct statvfs st;
  if (statvfs(path, &st) != 0) fail("cannot read the flags of", path);
  return (st.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (st.f_flag & ST_NODEV ? MS_NODEV : 0) | (st.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
         (st.f_flag & ST_NOATIME ? MS_NOATIME : 0) | (st.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
         (st.f_flag & ST_RELATIME ? MS_RELATIME : 0);
}

static void make_readonly(const char *path, unsigned long more) {
  if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSYMFOLLOW | more | kept_flags(path), NULL) != 0)
    fail("cannot make read-only", path);
}

/* /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
  char *out = s;
  for (char *in = s; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = 0;
}

/* The mount points at or below `top` (in mount order) and their filesystem types. */
struct mounts {
  char **points, **types;
  size_t n;
};

static struct mounts mounts_below(const char *top) {
  struct mounts m = {0};
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) fail("cannot read", "/proc/self/mountinfo");
  size_t len = strlen(top), cap = 0;
  char *line = NULL;
  size_t size = 0;
  while (getline(&line, &size, f) > 0) {
    char *fields[5], *save = NULL, *p = line;
    int i = 0;
    for (; i < 5 && (fields[i] = strtok_r(p, " ", &save)); i++) p = NULL;
    char *dash = strstr(save ? save : "", " - ");
    if (i < 5 || !dash) continue;
    char *type = strtok_r(dash + 3, " ", &save);
    char *point = fields[4];
    unescape(point);
    if (strncmp(point, top, len) != 0 || (point[len] != 0 && point[len] != '/')) continue;
    if (m.n == cap) {
      cap = cap ? cap * 2 : 64;
      m.points = realloc(m.points, cap * sizeof *m.points);
      m.types = realloc(m.types, cap * sizeof *m.types);
      if (!m.points || !m.types) fail("out of memory reading", "/proc/self/mountinfo");
    }
    m.points[m.n] = strdup(point);
    m.types[m.n] = strdup(type ? type : "");
    m.n++;
  }
  free(line);
  fclose(f);
  return m;
}

static const char *masks; /* M of the scan in progress */

static void hide(const char *path, int dir) {
  char mask[MAX_PATH];
  snprintf(mask, sizeof mask, "%s/%s", masks, dir ? "dir" : "file");
  if (mount(mask, path, NULL, MS_BIND, NULL) != 0) fail("cannot hide", path);
  make_readonly(path, MS_NOSUID | MS_NODEV);
}

static int secret_dir(const struct stat *st) { return !(st->st_mode & S_IROTH) || !(st->st_mode & S_IXOTH); }

static int visit(const char *path, const struct stat *st, int type, struct FTW *at) {
  (void)at;
  if ((type == FTW_D || type == FTW_DNR) && secret_dir(st)) {
    hide(path, 1);
    return FTW_SKIP_SUBTREE;
  }
  if (type == FTW_F && S_ISREG(st->st_mode) && !(st->st_mode & S_IROTH)) hide(path, 0);
  return FTW_CONTINUE; /* unreadable entries (FTW_NS, FTW_DNR of a listable directory) as find skips them */
}

static void scan(const char *dir, const char *mask_dir) {
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return;
  masks = mask_dir;
  struct mounts m = mounts_below(dir); /* before any mask is mounted */
  if (nftw(dir, visit, 32, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) != 0) fail("cannot scan", dir);
  for (size_t i = 0; i < m.n; i++) {
    if (strcmp(m.points[i], dir) == 0) continue;
    /* Below a directory hidden meanwhile (e.g. a container's mount under /var/lib/docker): gone from the view. */
    if (lstat(m.points[i], &st) != 0) continue;
    /* A FUSE filesystem is not walked (it may hang or be another user's); only its top is judged. */
    if (strncmp(m.types[i], "fuse", 4) == 0) {
      if (S_ISDIR(st.st_mode) && secret_dir(&st)) hide(m.points[i], 1);
      continue;
    }
    if (nftw(m.points[i], visit, 32, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) != 0) fail("cannot scan", m.points[i]);
  }
}

static void copy_file(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("cannot read", src);
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (out < 0) fail("cannot write", dst);
  char buf[65536];
  ssize_t got;
  while ((got = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, got) != got) fail("cannot write", dst);
  if (got < 0) fail("cannot read", src);
  if (fchmod(out, 0755) != 0) fail("cannot set the mode of", dst);
  close(in);
  close(out);
}

static void vm_view(const char *lab, const char *view, const char *own) {
  char own_in_view[2 * MAX_PATH + 2];
  snprintf(own_in_view, sizeof own_in_view, "%s%s", view, own);
  make_dirs(view);
  if (mount(lab, view, NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind the lab's view at", view);
  /* Private at once, or the bind below would appear in the lab's view and every other VM's. */
  if (mount(NULL, view, NULL, MS_PRIVATE | MS_REC, NULL) != 0) fail("cannot make private", view);
  if (mount(own, own_in_view, NULL, MS_BIND, NULL) != 0) fail("cannot bind the VM's own directory at", own_in_view);
  make_readonly(own_in_view, MS_NOSUID | MS_NODEV);
}

static void step(char **f, int n) {
  const char *op = f[0];
  if (strcmp(op, "tmpfs") == 0 && n == 2) {
    if (mount("umlab-hostview", f[1], "tmpfs", 0, "mode=0755,size=4m") != 0) fail("cannot mount a tmpfs at", f[1]);
  } else if (strcmp(op, "copy") == 0 && n == 3) {
    copy_file(f[1], f[2]);
  } else if (strcmp(op, "symlink") == 0 && n == 3) {
    char target[MAX_PATH];
    ssize_t len = readlink(f[1], target, sizeof target - 1);
    if (len < 0) fail("cannot read the link", f[1]);
    target[len] = 0;
    if (symlink(target, f[2]) != 0) fail("cannot make the link", f[2]);
  } else if (strcmp(op, "rbind") == 0 && n == 3) {
    make_dirs(f[2]);
    if (mount(f[1], f[2], NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind", f[1]);
  } else if (strcmp(op, "dir") == 0 && (n == 2 || n == 3)) {
    make_dirs(f[1]);
    if (n == 3 && chmod(f[1], (mode_t)strtoul(f[2], NULL, 8)) != 0) fail("cannot set the mode of", f[1]);
  } else if (strcmp(op, "masks") == 0 && n == 2) {
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s/dir", f[1]);
    make_dirs(path);
    snprintf(path, sizeof path, "%s/file", f[1]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
    if (fd < 0 || fchmod(fd, 0444) != 0) fail("cannot make", path);
    close(fd);
  } else if (strcmp(op, "bind") == 0 && n == 3) {
    if (mount(f[1], f[2], NULL, MS_BIND, NULL) != 0) fail("cannot bind", f[1]);
  } else if (strcmp(op, "readonly") == 0 && n == 2) {
    struct mounts m = mounts_below(f[1]);
    struct stat st;
    for (size_t i = 0; i < m.n; i++) {
      /* Below a directory this user may not enter (a rootless lab; a container's mount under
       * /var/lib/docker): neither may the VM, whose hostfs reads as this user. */
      if (lstat(m.points[i], &st) != 0 && (errno == EACCES || errno == ENOENT || errno == ENOTDIR)) continue;
      make_readonly(m.points[i], 0);
    }
  } else if (strcmp(op, "scan") == 0 && n == 3) {
    scan(f[1], f[2]);
  } else if (strcmp(op, "share") == 0 && n == 3) {
    if (mount(f[1], f[2], NULL, MS_BIND, NULL) != 0) fail("cannot bind", f[1]);
    if (mount(NULL, f[2], NULL, MS_REMOUNT | MS_BIND | MS_NOSYMFOLLOW | MS_NOSUID | MS_NODEV | kept_flags(f[2]), NULL) != 0)
      fail("cannot make read-write", f[2]);
  } else if (strcmp(op, "private") == 0 && n == 2) {
    if (mount(NULL, f[1], NULL, MS_PRIVATE | MS_REC, NULL) != 0) fail("cannot make private", f[1]);
  } else if (strcmp(op, "view") == 0 && n == 4) {
    vm_view(f[1], f[2], f[3]);
  } else if (strcmp(op, "probe") == 0 && n == 2) {
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s/.umlab-rw-probe", f[1]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      unlink(path);
      fprintf(stderr, "umlab: the host view is writable at %s\n", f[1]);
      exit(1);
    }
  } else {
    fprintf(stderr, "umlab: umlab-views: a step it does not know: %s (%d fields)\n", op, n);
    exit(1);
  }
}

int main(void) {
  char *line = NULL;
  size_t size = 0;
  ssize_t len;
  while ((len = getline(&line, &size, stdin)) > 0) {
    if (line[len - 1] == '\n') line[--len] = 0;
    if (!*line) continue;
    char *f[5], *save = NULL, *p = line;
    int n = 0;
    while (n < 5 && (f[n] = strtok_r(p, "\t", &save))) {
      n++;
      p = NULL;
    }
    step(f, n);
  }
  free(line);
  return 0;
}
