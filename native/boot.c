// umlab-boot: stage 1 of a VM booted from the host's read-only root (src/topology/init-script.ts),
// run by the kernel as init. It makes the writable root in RAM (an overlay of the VM's file layer
// and the host root over a tmpfs), enters it, mounts what stage 2 expects (/etc/fstab of the VM's
// layer, as `mount -a` would) and sets the agent's serial line raw; then it runs the VM's init
// script for stage 2. One process instead of a shell, six busybox runs, mount(8) and stty: each
// process start costs a UML guest 0.1 s or more of page faults through ptrace.
//
// Its settings come from the file named by the kernel parameter umlab_boot= (which reaches init
// as an environment variable), one per line, written by umlab from the lab's plan:
//   overlay module, layer directory, stage-2 script, "nosuid" or "suid", agent serial line;
//   then, optionally, the network's changes: lines of `ip -batch` and error files (see configure_network).
// On any failure it says "umlab: ..." on the console and powers the VM off: `up` shows the tail.
// A failed network change powers nothing off: stage 2 reports it as its "configure interfaces" or
// "add routes" step.
//
// `umlab-boot --network FILE` makes only the network changes of FILE, in the caller's network
// namespace: how the tests check them on the host.
//
// Build: cc -O2 -static -o umlab-boot boot.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
  va_list ap;
  va_start(ap, fmt);
  vdprintf(fd < 0 ? 2 : fd, fmt, ap);
  va_end(ap);
  dprintf(fd < 0 ? 2 : fd, "\n");
  if (fd >= 0) close(fd);
}

/* Says what failed and powers the VM off (PID 1 must not just exit: the kernel would panic). */
static void die(const char *what, const char *path) {
  say("umlab: %s %s: %s", what, path, strerror(errno));
  sync();
  reboot(RB_POWER_OFF);
  _exit(1);
}

static void must_mount(const char *src, const char *target, const char *type, unsigned long flags, const char *data) {
  if (mount(src, target, type, flags, data) != 0) die("cannot mount", target);
}

static void make_dir(const char *path, mode_t mode) {
  if (mkdir(path, mode) != 0 && errno != EEXIST) die("cannot make", path);
}

/* mkdir -p, for X-mount.mkdir. */
static void make_dirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      make_dir(buf, 0755);
      *p = '/';
    }
  make_dir(buf, 0755);
}

/* fstab(5) escapes whitespace as \040 and the like. */
static void unescape(char *s) {
  char *out = s;
  for (char *in = s; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = 0;
}

/* The VM's /etc/fstab, as `mount -a` reads it: flags by name, the rest given to the filesystem. */
static void mount_fstab(void) {
  FILE *f = fopen("/etc/fstab", "r");
  if (!f) die("cannot read", "/etc/fstab");
  static const struct {
    const char *name;
    unsigned long set, clear;
  } flags[] = {{"defaults", 0, 0},      {"ro", MS_RDONLY, 0},          {"rw", 0, MS_RDONLY},           {"nosuid", MS_NOSUID, 0},
               {"suid", 0, MS_NOSUID},  {"nodev", MS_NODEV, 0},        {"dev", 0, MS_NODEV},           {"noexec", MS_NOEXEC, 0},
               {"exec", 0, MS_NOEXEC},  {"noatime", MS_NOATIME, 0},    {"relatime", MS_RELATIME, 0},  {"auto", 0, 0}};
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    char *save, *spec = strtok_r(line, " \t\n", &save), *dir = strtok_r(NULL, " \t\n", &save), *type = strtok_r(NULL, " \t\n", &save),
                *opts = strtok_r(NULL, " \t\n", &save);
    if (!spec || spec[0] == '#' || !dir || !type) continue;
    unescape(spec);
    unescape(dir);
    unsigned long mflags = 0;
    int mkdirs = 0;
    char data[8192] = "";
    char *osave;
    for (char *o = opts ? strtok_r(opts, ",", &osave) : NULL; o; o = strtok_r(NULL, ",", &osave)) {
      unescape(o);
      int known = 0;
      for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(o, flags[i].name) == 0) {
          mflags = (mflags | flags[i].set) & ~flags[i].clear;
          known = 1;
        }
      if (strcmp(o, "X-mount.mkdir") == 0) mkdirs = known = 1;
      if (known || strncmp(o, "X-", 2) == 0 || strncmp(o, "x-", 2) == 0) continue;
      if (*data) strncat(data, ",", sizeof data - strlen(data) - 1);
      strncat(data, o, sizeof data - strlen(data) - 1);
    }
    if (mkdirs) make_dirs(dir);
    must_mount(spec, dir, type, mflags, *data ? data : NULL);
  }
  fclose(f);
}

/* One rtnetlink request: its ack's error (0 or -errno). */
static int rtnl_call(int fd, struct nlmsghdr *req) {
  static unsigned seq;
  req->nlmsg_seq = ++seq;
  req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (send(fd, req, req->nlmsg_len, 0) < 0) return -errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
      if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
  }
}

struct rtnl_request {
  struct nlmsghdr header;
  union {
    struct ifinfomsg link;
    struct ifaddrmsg addr;
    struct rtmsg route;
  } body;
  char attributes[256];
};

static void add_attribute(struct rtnl_request *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->header.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->header.nlmsg_len = NLMSG_ALIGN(r->header.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* An IPv4 address, a prefix length after a slash (else 32), or "default" (0.0.0.0/0). */
static int parse_prefix(char *text, int allow_default, struct in_addr *address, int *prefix) {
  if (allow_default && strcmp(text, "default") == 0) {
    address->s_addr = 0;
    *prefix = 0;
    return 0;
  }
  char *slash = strchr(text, '/'), *end = NULL;
  if (slash) *slash = 0;
  long length = slash ? strtol(slash + 1, &end, 10) : 32;
  if (inet_pton(AF_INET, text, address) != 1 || length < 0 || length > 32 || (slash && (end == slash + 1 || *end))) return -EINVAL;
  *prefix = (int)length;
  return 0;
}

static int device_index(const char *name, int *index) {
  *index = (int)if_nametoindex(name);
  return *index ? 0 : -ENODEV;
}

/* One line of `ip -batch`, of the few forms umlab writes (init-script.ts NATIVE_IP_LINES):
 *   link set dev IF name NAME | link set IF up | addr add A.B.C.D[/N] dev IF
 *   route add default|A.B.C.D[/N] [via A.B.C.D] [dev IF]
 * 0, or -errno; any other line is -EINVAL. */
static int net_change(int fd, char *line) {
  char *word[12], *save;
  int n = 0, index = 0, prefix, err;
  for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save))
    if (n < 12) word[n++] = w;
    else return -EINVAL;
#define WORD(i, text) (n > (i) && strcmp(word[i], text) == 0)
  struct rtnl_request r;
  struct in_addr address;
  memset(&r, 0, sizeof r);
  if ((n == 6 && WORD(0, "link") && WORD(1, "set") && WORD(2, "dev") && WORD(4, "name")) || (n == 4 && WORD(0, "link") && WORD(1, "set") && WORD(3, "up"))) {
    if ((err = device_index(word[n == 6 ? 3 : 2], &index))) return err;
    r.header.nlmsg_len = NLMSG_LENGTH(sizeof r.body.link);
    r.header.nlmsg_type = RTM_NEWLINK;
    r.body.link.ifi_index = index;
    if (n == 4) r.body.link.ifi_flags = r.body.link.ifi_change = IFF_UP;
    else if (strlen(word[5]) < IFNAMSIZ) add_attribute(&r, IFLA_IFNAME, word[5], strlen(word[5]) + 1);
    else return -EINVAL;
    return rtnl_call(fd, &r.header);
  }
  if (n == 5 && WORD(0, "addr") && WORD(1, "add") && WORD(3, "dev")) {
    if ((err = parse_prefix(word[2], 0, &address, &prefix)) || (err = device_index(word[4], &index))) return err;
    r.header.nlmsg_len = NLMSG_LENGTH(sizeof r.body.addr);
    r.header.nlmsg_type = RTM_NEWADDR;
    r.header.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    r.body.addr.ifa_family = AF_INET;
    r.body.addr.ifa_prefixlen = (unsigned char)prefix;
    r.body.addr.ifa_index = (unsigned)index;
    add_attribute(&r, IFA_LOCAL, &address, sizeof address);
    add_attribute(&r, IFA_ADDRESS, &address, sizeof address);
    return rtnl_call(fd, &r.header);
  }
  if (n >= 5 && n % 2 == 1 && WORD(0, "route") && WORD(1, "add")) {
    if ((err = parse_prefix(word[2], 1, &address, &prefix))) return err;
    r.header.nlmsg_len = NLMSG_LENGTH(sizeof r.body.route);
    r.header.nlmsg_type = RTM_NEWROUTE;
    r.header.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    r.body.route = (struct rtmsg){.rtm_family = AF_INET, .rtm_dst_len = (unsigned char)prefix, .rtm_table = RT_TABLE_MAIN,
                                  .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_LINK, .rtm_type = RTN_UNICAST};
    if (prefix > 0) add_attribute(&r, RTA_DST, &address, sizeof address);
    for (int i = 3; i < n; i += 2) {
      if (WORD(i, "via") && parse_prefix(word[i + 1], 0, &address, &prefix) == 0 && prefix == 32) {
        add_attribute(&r, RTA_GATEWAY, &address, sizeof address);
        r.body.route.rtm_scope = RT_SCOPE_UNIVERSE; /* as `ip` sets it: through a gateway */
      } else if (WORD(i, "dev")) {
        if ((err = device_index(word[i + 1], &index))) return err;
        add_attribute(&r, RTA_OIF, &index, sizeof index);
      } else {
        return -EINVAL;
      }
    }
    return rtnl_call(fd, &r.header);
  }
#undef WORD
  return -EINVAL;
}

/* The network changes that follow the settings' first lines, in order, over one netlink socket
 * instead of an `ip` process (whose shared libraries cost a UML guest ~150 ms of page faults).
 * A line that starts with / names the file for the failures of the lines after it. Stops at the
 * first failure, as `ip -batch` does, and writes it, as "LINE: REASON", to that file. */
static int configure_network(FILE *settings) {
  char error_file[4096] = "", line[512], change[512];
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), failed = 0;
  while (!failed && fgets(line, sizeof line, settings)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0] == '/') {
      snprintf(error_file, sizeof error_file, "%s", line);
      continue;
    }
    snprintf(change, sizeof change, "%s", line);
    int err = fd < 0 ? -errno : net_change(fd, line);
    if (err == 0) continue;
    failed = 1;
    FILE *out = *error_file ? fopen(error_file, "w") : NULL;
    if (out) {
      fprintf(out, "%s: %s\n", change, strerror(-err));
      fclose(out);
    }
  }
  if (fd >= 0) close(fd);
  return failed;
}

int main(int argc, char **argv) {
  /* Only the network part, in the caller's network namespace: the tests run it in a fresh one. */
  if (argc == 3 && strcmp(argv[1], "--network") == 0) {
    FILE *changes = fopen(argv[2], "r");
    if (!changes) return 2;
    return configure_network(changes);
  }
  /* Its failures halt the VM: run by hand in a VM (its environment still names the settings), it would. */
  if (getpid() != 1) {
    fprintf(stderr, "umlab-boot: only a VM's init (PID 1) runs this\n");
    return 2;
  }
  const char *settings = getenv("umlab_boot");
  if (!settings) {
    errno = EINVAL;
    die("no umlab_boot= on the kernel command line:", "");
  }
  FILE *f = fopen(settings, "r");
  if (!f) die("cannot read", settings);
  char lines[5][4096];
  for (int i = 0; i < 5; i++) {
    if (!fgets(lines[i], sizeof lines[i], f)) {
      errno = EINVAL;
      die("incomplete settings in", settings);
    }
    lines[i][strcspn(lines[i], "\n")] = 0;
  }
  const char *module = lines[0], *layer = lines[1], *stage2 = lines[2], *agent = lines[4];
  int nosuid = strcmp(lines[3], "nosuid") == 0;

  must_mount("umlab-overlay", "/run", "tmpfs", 0, "mode=755");
  int mod = open(module, O_RDONLY | O_CLOEXEC);
  if (mod < 0 || syscall(SYS_finit_module, mod, "", 0) != 0) {
    if (errno != EEXIST) die("cannot load overlayfs from", module);
  }
  close(mod);
  const char *dirs[] = {"/run/ov", "/run/ov/upper", "/run/ov/work", "/run/ov/root", "/run/ov/layer"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) make_dir(dirs[i], 0755);
  // The layer gets its own hostfs mount: overlayfs refuses a lower dir inside another.
  must_mount("umlab-layer", "/run/ov/layer", "hostfs", 0, layer);
  must_mount("overlay", "/run/ov/root", "overlay", nosuid ? MS_NOSUID : 0, "lowerdir=/run/ov/layer:/,upperdir=/run/ov/upper,workdir=/run/ov/work");
  if (chroot("/run/ov/root") != 0 || chdir("/") != 0) die("cannot enter", "/run/ov/root");
  /* Opened before the mounts: a tmpfs on /tmp or a share may cover the run directory's path. The
     script reads itself through /proc/self/fd/9 and closes fd 9 first thing. */
  int script = open(stage2, O_RDONLY);
  if (script < 0 || dup2(script, 9) != 9) die("cannot open", stage2);
  if (script != 9) close(script);
  mount_fstab();
  configure_network(f); /* the settings' remaining lines; after fstab: the error file is on /run/umlab */
  fclose(f);
  int tty = open(agent, O_RDWR | O_NOCTTY);
  struct termios t;
  if (tty < 0 || tcgetattr(tty, &t) != 0) die("cannot open the agent line", agent);
  cfmakeraw(&t);
  if (tcsetattr(tty, TCSANOW, &t) != 0) die("cannot set raw mode on", agent);
  close(tty);
  execl("/bin/sh", "sh", "/proc/self/fd/9", (char *)NULL);
  die("cannot run", stage2);
  return 1;
}
