// umlab-capture: one process that writes the pcap files of every captured link of a lab whose
// frames cross the host kernel (bridged switches, hubs and wires), instead of one tcpdump per
// link: 150 links cost one process and a few hundred KiB, not 150 processes and ~730 MiB.
// Each link is a packet socket bound to its veth, which sees what the VM sends and receives.
// A packet socket keeps no ring: an idle link holds no memory, a busy one its socket buffer.
//
// Commands on stdin, one per line; answers on stdout, one per line:
//   add ID DEVICE FILE  ->  ok ID             | error ID MESSAGE
//   stop ID             ->  stopped ID DROPS     (frames the socket had to drop, left out of FILE)
//   (on its own)        ->  died ID REASON       (a write failed, e.g. the disk is full; FILE ends
//                                                 in a whole record; the link still carries frames)
// End of stdin or SIGTERM: every file is closed and the process exits. It dies with its parent.
//
// Build: cc -O2 -o umlab-capture capture.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_CAPTURES 4096
#define SOCKET_BUFFER (4 << 20) /* what a burst may queue while the disk is slow; used only when queued */
#define FRAMES_PER_TURN 64      /* then the next link: one busy link must not starve the others */

struct capture {
  char *id;
  int sock;
  int file;
  off_t size; /* bytes of the header and the whole records written */
  unsigned long drops;
};

static struct capture captures[MAX_CAPTURES];
static int count;
static unsigned snaplen = 262144;
static unsigned char *frame;
static volatile sig_atomic_t stopping;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static int find(const char *id) {
  for (int i = 0; i < count; i++)
    if (strcmp(captures[i].id, id) == 0) return i;
  return -1;
}

/* Frames the kernel dropped since the last call (PACKET_STATISTICS resets on read). */
static void collect_drops(struct capture *c) {
  struct tpacket_stats stats;
  socklen_t len = sizeof stats;
  if (getsockopt(c->sock, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) c->drops += stats.tp_drops;
}

static void forget(int i) {
  close(captures[i].sock);
  close(captures[i].file);
  free(captures[i].id);
  captures[i] = captures[--count];
}

static int write_all(int fd, struct iovec *iov, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  ssize_t w = writev(fd, iov, n);
  if (w == (ssize_t)total) return 0;
  if (w >= 0) errno = ENOSPC; /* a short write: only a full disk does that to a regular file */
  return -1;
}

static void add(char *id, char *device, char *path) {
  if (find(id) >= 0) return say("error %s already capturing", id);
  if (count == MAX_CAPTURES) return say("error %s too many captures", id);
  unsigned ifindex = if_nametoindex(device);
  if (!ifindex) return say("error %s no device %s: %s", id, device, strerror(errno));
  /* Protocol 0 until bound: otherwise frames of every device arrive before bind() narrows it. */
  int sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (sock < 0) return say("error %s packet socket: %s", id, strerror(errno));
  int one = 1, size = SOCKET_BUFFER;
  setsockopt(sock, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);
  setsockopt(sock, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_ll addr = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
  if (bind(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
    say("error %s bind to %s: %s", id, device, strerror(errno));
    close(sock);
    return;
  }
  int file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (file < 0) {
    say("error %s %s: %s", id, path, strerror(errno));
    close(sock);
    return;
  }
  /* The pcap global header: microsecond timestamps, Ethernet. */
  uint32_t header[6] = {0xa1b2c3d4, 2 | (4 << 16), 0, 0, snaplen, 1};
  struct iovec iov = {header, sizeof header};
  if (write_all(file, &iov, 1) != 0) {
    say("error %s %s: %s", id, path, strerror(errno));
    close(sock);
    close(file);
    return;
  }
  captures[count++] = (struct capture){strdup(id), sock, file, sizeof header, 0};
  say("ok %s", id);
}

/* Writes the frames waiting on capture i; returns -1 once the capture died (and is forgotten). */
static int drain(int i) {
  struct capture *c = &captures[i];
  for (int n = 0; n < FRAMES_PER_TURN; n++) {
    char control[CMSG_SPACE(sizeof(struct tpacket_auxdata)) + CMSG_SPACE(sizeof(struct timeval))];
    /* 4 bytes of room at the front for a VLAN tag the kernel took off the frame. */
    struct iovec iov = {frame + 4, snaplen};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t len = recvmsg(c->sock, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (len < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      say("died %s capture socket: %s", c->id, strerror(errno));
      forget(i);
      return -1;
    }
    struct timeval when = {0, 0};
    struct tpacket_auxdata *aux = NULL;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) aux = (struct tpacket_auxdata *)CMSG_DATA(cm);
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMP) memcpy(&when, CMSG_DATA(cm), sizeof when);
    }
    if (!when.tv_sec) gettimeofday(&when, NULL);
    unsigned char *data = frame + 4;
    uint32_t captured = (uint32_t)len < snaplen ? (uint32_t)len : snaplen, original = (uint32_t)len;
    /* The frame as it was on the wire: put back the 802.1Q tag the kernel holds aside, as tcpdump does. */
    if (aux && (aux->tp_status & TP_STATUS_VLAN_VALID) && captured >= 12) {
      uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
      memmove(data - 4, data, 12);
      data -= 4;
      uint16_t tag[2] = {htons(tpid), htons(aux->tp_vlan_tci)};
      memcpy(data + 12, tag, 4);
      captured += 4;
      original += 4;
      if (captured > snaplen) captured = snaplen;
    }
    uint32_t record[4] = {(uint32_t)when.tv_sec, (uint32_t)when.tv_usec, captured, original};
    struct iovec out[2] = {{record, sizeof record}, {data, captured}};
    if (write_all(c->file, out, 2) != 0) {
      int err = errno;
      /* Cut back to the last whole record, so readers stop at a frame boundary. */
      if (ftruncate(c->file, c->size) != 0) { /* the reason to tell stays the write's */ }
      say("died %s %s", c->id, err == ENOSPC ? "no space left on device" : strerror(err));
      forget(i);
      return -1;
    }
    c->size += (off_t)(sizeof record + captured);
  }
  return 0;
}

static void stop(const char *id) {
  int i = find(id);
  if (i < 0) return say("stopped %s 0", id);
  drain(i);
  if ((i = find(id)) < 0) return; /* died while draining: said so */
  collect_drops(&captures[i]);
  unsigned long drops = captures[i].drops;
  forget(i);
  say("stopped %s %lu", id, drops);
}

static char line[8192];
static size_t line_len;

/* Runs the complete command lines in `line`; returns -1 at the end of stdin. */
static int read_commands(void) {
  ssize_t got = read(0, line + line_len, sizeof line - 1 - line_len);
  if (got <= 0) return got < 0 && errno == EINTR ? 0 : -1;
  line_len += (size_t)got;
  char *start = line, *nl;
  while ((nl = memchr(start, '\n', line_len - (size_t)(start - line)))) {
    *nl = 0;
    char *save, *verb = strtok_r(start, " ", &save), *id = strtok_r(NULL, " ", &save);
    if (verb && id && strcmp(verb, "add") == 0) {
      char *device = strtok_r(NULL, " ", &save), *path = strtok_r(NULL, "", &save);
      if (device && path) add(id, device, path);
      else say("error %s usage: add ID DEVICE FILE", id);
    } else if (verb && id && strcmp(verb, "stop") == 0) {
      stop(id);
    } else if (verb) {
      say("error - unknown command %s", verb);
    }
    start = nl + 1;
  }
  line_len -= (size_t)(start - line);
  memmove(line, start, line_len);
  if (line_len == sizeof line - 1) line_len = 0; /* a line longer than any command: dropped */
  return 0;
}

int main(int argc, char **argv) {
  /* argv[1]: the lab's capture directory (named so `down` finds this process); argv[2]: snaplen. */
  if (argc > 2) snaplen = (unsigned)strtoul(argv[2], NULL, 10);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return 1; /* the parent died before the line above */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction term = {.sa_handler = on_term};
  sigaction(SIGTERM, &term, NULL);
  frame = malloc(snaplen + 4);
  struct pollfd *fds = calloc(MAX_CAPTURES + 1, sizeof *fds);
  if (!frame || !fds) return 1;
  while (!stopping) {
    fds[0] = (struct pollfd){0, POLLIN, 0};
    for (int i = 0; i < count; i++) fds[i + 1] = (struct pollfd){captures[i].sock, POLLIN, 0};
    int ready = poll(fds, (nfds_t)count + 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    /* Sockets first, from the last: forget() moves the last capture into a freed slot. */
    for (int i = count - 1; i >= 0; i--)
      if (fds[i + 1].revents) drain(i);
    if (fds[0].revents && read_commands() < 0) break;
  }
  while (count > 0) {
    drain(count - 1);
    if (count > 0) forget(count - 1);
  }
  return 0;
}
