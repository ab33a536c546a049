// umlab-agent: the agent inside a VM (src/topology/guest-agent.ts), serving the host's exec
// requests on the agent serial line (protocol in src/topology/agent-protocol.ts). The same event
// loop as the perl agent it replaces where it can run, without perl's start: ~0.4 s of a VM's CPU
// in UML, where every page of a process is faulted in through ptrace. It says READY itself, so
// the host hears it only when requests are served.
//
//   umlab-agent TTY             requests: X <id> <b64 cmd>, P <id>, K <id>; replies: R, P (one line each)
//   umlab-agent --console TTY   an interactive shell on TTY for `umlab console` once a line is typed,
//                               again after it ends
//
// Each command runs as `sh /run/umlab/req-<id>.cmd` in a process group of its own, stdin from
// /dev/null, stdout and stderr into files read back when it ends. No reply is ever split: the
// output buffer only ever grows by whole lines.
//
// Build: cc -O2 -static -o umlab-agent agent.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DIR "/run/umlab"
#define MAX_JOBS 1024

struct buf {
  char *data;
  size_t len, cap;
};

static void grow(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  char *data = realloc(b->data, cap);
  if (!data) {
    dprintf(2, "umlab agent: out of memory\n");
    _exit(1);
  }
  b->data = data;
  b->cap = cap;
}

static void append(struct buf *b, const void *src, size_t n) {
  grow(b, n);
  memcpy(b->data + b->len, src, n);
  b->len += n;
}

static void consume(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void append_base64(struct buf *b, const unsigned char *s, size_t n) {
  grow(b, (n + 2) / 3 * 4);
  char *o = b->data + b->len;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    *o++ = B64[s[i] >> 2];
    *o++ = B64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
    *o++ = B64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
    *o++ = B64[s[i + 2] & 63];
  }
  if (i < n) {
    *o++ = B64[s[i] >> 2];
    if (i + 1 < n) {
      *o++ = B64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
      *o++ = B64[(s[i + 1] & 15) << 2];
    } else {
      *o++ = B64[(s[i] & 3) << 4];
      *o++ = '=';
    }
    *o++ = '=';
  }
  b->len = o - b->data;
}

/* Decodes in place (ignoring what is not base64, as perl's decode_base64 does); returns the length. */
static size_t decode_base64(char *s) {
  unsigned acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char *p = s; *p && *p != '='; p++) {
    const char *at = strchr(B64, *p);
    if (!at) continue;
    acc = (acc << 6) | (unsigned)(at - B64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  return n;
}

static int tty = -1;
static int wake[2];
static struct buf in, out;
/* The running commands: pid, request id, and whether the host gave up on it (K: no reply). */
static struct {
  pid_t pid;
  unsigned long id;
  int killed;
} jobs[MAX_JOBS];
static int njobs;

static void reply(unsigned long id, int rc, const struct buf *o, const struct buf *e) {
  char head[64];
  append(&out, head, snprintf(head, sizeof head, "R %lu %d ", id, rc));
  append_base64(&out, (const unsigned char *)o->data, o->len);
  append(&out, " ", 1);
  append_base64(&out, (const unsigned char *)e->data, e->len);
  append(&out, "\n", 1);
}

static void reply_error(unsigned long id, int rc, const char *message) {
  struct buf none = {0}, err = {0};
  append(&err, message, strlen(message));
  reply(id, rc, &none, &err);
  free(err.data);
}

static void slurp(const char *path, struct buf *b) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  for (;;) {
    grow(b, 65536);
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
    if (n <= 0) break;
    b->len += n;
  }
  close(fd);
}

static void job_file(char *path, size_t size, unsigned long id, const char *ext) {
  snprintf(path, size, DIR "/req-%lu.%s", id, ext);
}

static void start_job(unsigned long id, char *b64) {
  char cmd[96], outf[96], errf[96], msg[160];
  job_file(cmd, sizeof cmd, id, "cmd");
  job_file(outf, sizeof outf, id, "out");
  job_file(errf, sizeof errf, id, "err");
  if (njobs == MAX_JOBS) return reply_error(id, 126, "umlab agent: too many commands at once\n");
  size_t n = decode_base64(b64);
  int fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, b64, n) != (ssize_t)n) {
    snprintf(msg, sizeof msg, "umlab agent: cannot write %s: %s\n", cmd, strerror(errno));
    if (fd >= 0) close(fd);
    return reply_error(id, 126, msg);
  }
  close(fd);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(msg, sizeof msg, "umlab agent: fork: %s\n", strerror(errno));
    return reply_error(id, 126, msg);
  }
  if (pid == 0) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY), o = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (null < 0 || o < 0 || e < 0 || dup2(null, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
    if (chdir("/root") != 0 && chdir("/") != 0) _exit(126);
    execlp("sh", "sh", cmd, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* here too: a K right after the fork must find the group */
  jobs[njobs].pid = pid;
  jobs[njobs].id = id;
  jobs[njobs].killed = 0;
  njobs++;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    int i = 0;
    while (i < njobs && jobs[i].pid != pid) i++;
    if (i == njobs) continue; /* an orphan this init adopted */
    unsigned long id = jobs[i].id;
    int killed = jobs[i].killed;
    jobs[i] = jobs[--njobs];
    int rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    char cmd[96], outf[96], errf[96];
    job_file(cmd, sizeof cmd, id, "cmd");
    job_file(outf, sizeof outf, id, "out");
    job_file(errf, sizeof errf, id, "err");
    if (!killed) {
      struct buf o = {0}, e = {0};
      slurp(outf, &o);
      slurp(errf, &e);
      reply(id, rc, &o, &e);
      free(o.data);
      free(e.data);
    }
    unlink(cmd);
    unlink(outf);
    unlink(errf);
  }
}

static void handle_line(char *line) {
  char *op = strtok(line, " "), *id_text = strtok(NULL, " "), *arg = strtok(NULL, " ");
  if (!op || !id_text || strspn(id_text, "0123456789") != strlen(id_text)) return;
  unsigned long id = strtoul(id_text, NULL, 10);
  if (strcmp(op, "X") == 0) {
    start_job(id, arg ? arg : (char[]){0});
  } else if (strcmp(op, "P") == 0) {
    char pong[40];
    append(&out, pong, snprintf(pong, sizeof pong, "P %lu\n", id));
  } else if (strcmp(op, "K") == 0) {
    for (int i = 0; i < njobs; i++)
      if (jobs[i].id == id && !jobs[i].killed) {
        jobs[i].killed = 1;
        kill(-jobs[i].pid, SIGKILL);
      }
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int output_waiting(void) {
  int n = 0;
  return ioctl(tty, TIOCOUTQ, &n) == 0 ? n : 0;
}

/* UML's serial line keeps up to 4 KB in its own buffer when the host side is full and sends it
 * when the host signals room (SIGIO). That signal can be lost: the line then holds its 4 KB
 * forever and every later reply waits behind it. UML's flush_buffer op writes that buffer out
 * (it does not drop it), and TCOFLUSH calls it: so when output waits and has not moved for
 * 0.2 s, push it. Checked on every turn, so a busy agent pushes too. */
static int queued;
static double queued_since;
static void push_if_stalled(void) {
  int q = output_waiting();
  if (q == 0) {
    queued = 0;
    return;
  }
  double t = now();
  if (q != queued) {
    queued = q;
    queued_since = t;
    return;
  }
  if (t - queued_since < 0.2) return;
  tcflush(tty, TCOFLUSH);
  queued_since = t;
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  if (write(wake[1], "c", 1) < 0) { /* the pipe is full: a wake-up is already pending */
  }
  errno = saved;
}

/* What `while :; do setsid -c /bin/sh -i <TTY >TTY 2>&1; sleep 1; done` does, without the
 * start of setsid and of a subshell in every VM's boot (each a tenth of a second of CPU here),
 * and each shell only once someone types. */
static int console_keeper(const char *path) {
  for (;;) {
    /* The shell starts when a line is typed (and reads it), not at boot: most consoles are never
     * used, and a shell's start is a VM's largest cost after its kernel's. */
    int watch = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    struct pollfd line = {watch, POLLIN, 0};
    if (watch < 0 || poll(&line, 1, -1) != 1 || !(line.revents & POLLIN)) {
      if (watch >= 0) close(watch);
      sleep(1);
      continue;
    }
    /* Open until the shell has the terminal open: its last close would drop the typed line. */
    pid_t pid = fork();
    if (pid == 0) {
      /* A login's dispositions: started with `&`, this keeper has SIGINT and SIGQUIT ignored, and
       * a shell keeps ignoring what it was started ignoring, so Ctrl-C would stop nothing. */
      for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
      setsid();
      int fd = open(path, O_RDWR);
      if (fd < 0) _exit(1);
      ioctl(fd, TIOCSCTTY, 1); /* the session's controlling terminal, as setsid -c makes it */
      dup2(fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2) close(fd);
      execl("/bin/sh", "sh", "-i", (char *)NULL); /* `watch` closes here (O_CLOEXEC) */
      _exit(127);
    }
    close(watch);
    if (pid > 0)
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
    sleep(1);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--console") == 0) return console_keeper(argv[2]);
  if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--console") == 0)) {
    dprintf(2, "usage: umlab-agent TTY [--console CONSOLE_TTY] | umlab-agent --console CONSOLE_TTY\n");
    return 2;
  }
  /* The console's keeper as a child of this program: a VM's boot saves the start of a shell job
   * and of a program (~30 ms of UML's forks and execs). */
  if (argc == 4 && fork() == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
    return console_keeper(argv[3]);
  }
  tty = open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (tty < 0) {
    dprintf(2, "umlab agent: cannot open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  /* SIGCHLD wakes the loop through a pipe: a signal between the last check and select() is never lost. */
  if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
  struct sigaction sa = {0};
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  append(&out, "READY\n", 6);
  for (;;) {
    reap();
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(tty, &r);
    FD_SET(wake[0], &r);
    if (out.len) FD_SET(tty, &w);
    /* The timeout only bounds a lost wake-up; idle, it is long: each wake-up of an idle VM
     * costs the host a few ptrace round trips. */
    int busy = out.len || queued || output_waiting();
    struct timeval tv = {busy ? 0 : 60, busy ? 200000 : 0};
    int n = select((tty > wake[0] ? tty : wake[0]) + 1, &r, &w, NULL, &tv);
    push_if_stalled();
    if (n <= 0) continue;
    if (FD_ISSET(wake[0], &r)) {
      char drain[256];
      while (read(wake[0], drain, sizeof drain) > 0) {
      }
    }
    if (FD_ISSET(tty, &r)) {
      grow(&in, 65536);
      ssize_t got = read(tty, in.data + in.len, in.cap - in.len);
      if (got == 0) return 0;
      if (got > 0) in.len += got;
      char *nl;
      while ((nl = memchr(in.data, '\n', in.len))) {
        size_t whole = nl - in.data + 1, len = whole - 1;
        *nl = 0;
        while (len && in.data[len - 1] == '\r') in.data[--len] = 0;
        if (len) {
          char *line = strndup(in.data, len);
          if (line) handle_line(line);
          free(line);
        }
        consume(&in, whole);
      }
    }
    if (out.len) {
      ssize_t sent = write(tty, out.data, out.len);
      if (sent > 0) consume(&out, sent);
    }
  }
}
