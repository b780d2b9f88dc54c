/*
 * A small closed-loop TCP load generator for bench/tracker.ts: `concurrency`
 * connections in flight, each one request on its own connection (connect,
 * write the request in one write, read exactly the reply length, close), a new
 * connection started as soon as one finishes. One thread, non-blocking sockets,
 * epoll. It knows nothing about the protocol: requests come from a file of
 * equal-length requests, used in turn (cycling).
 *
 *   loadgen --port P --reply-len N --request-len L --requests FILE
 *           [--host 127.0.0.1] [--seconds 3] [--warmup 0.5] [--concurrency 64]
 *           [--sources 1] [--expect AFCH] [--pid SERVER_PID]
 *
 * --rate R makes it open loop (what bench/dashboard.ts needs): R connections are
 * started per second on schedule, whatever the server's latency, with at most
 * `concurrency` in flight; one that is due while all are busy is counted as
 * skipped (never sent), so the rate achieved is reported, not assumed.
 *
 * --sources N spreads the connections over source addresses 127.0.0.1..N (more
 * ephemeral ports for long runs). --pid reads that process's CPU time from
 * /proc at the start and end of the measured window. Only requests completed
 * inside the measured window (after the warm-up) count; at the end no new
 * connections start and those in flight get at most 2 s to finish (not counted).
 *
 * Prints one JSON line on stdout:
 *   {"requests","errors","seconds","rps","p50","p90","p99","max" (ms),
 *    "serverCpuUsPerRequest","clientCpuUsPerRequest","sent","skipped","firstError"}
 * (sent and skipped: connections started and due-but-not-started in the window; skipped is 0 closed loop).
 *
 * Built by bench/tracker.ts with `cc -O2` into a temporary directory.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum state { IDLE, CONNECTING, READING };

struct conn {
  int fd;
  enum state state;
  size_t got;
  double started; /* µs, CLOCK_MONOTONIC */
};

static const char *host = "127.0.0.1";
static int port = 0, concurrency = 64, sources = 1, server_pid = 0;
static double seconds = 3, warmup = 0.5, rate = 0;
static size_t reply_len = 0, request_len = 0, request_count = 0;
static char *requests = NULL;
static const char *expect = NULL;
static size_t expect_len = 0;

static struct conn *conns;
static int epfd;
static uint64_t next_request = 0, next_source = 0;
static int measuring = 0, stopping = 0;
static double measure_start = 0, measure_end = 0;
static uint64_t completed = 0, errors = 0, sent = 0, skipped = 0;
/* Open loop: the slots not in use, as a stack of indexes. */
static int *idle_slots = NULL;
static int idle_count = 0;
static double *lat = NULL;
static size_t lat_len = 0, lat_cap = 0;
static char first_error[160] = "";
static unsigned char *rbuf;
static size_t rbuf_len;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void note_error(const char *what, int err) {
  if (measuring && !stopping) errors++;
  if (first_error[0] == '\0') snprintf(first_error, sizeof first_error, "%s: %s", what, err ? strerror(err) : "protocol");
}

/* utime + stime of a process in µs (-1 when unknown). */
static double proc_cpu_us(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  /* After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static void start(struct conn *c);

static void finish(struct conn *c) {
  int was_busy = c->state != IDLE || c->fd >= 0;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = IDLE;
  if (rate > 0 && was_busy) idle_slots[idle_count++] = (int)(c - conns);
}

/* Closed loop: the next request at once on the same slot. Open loop: the slot waits for the schedule. */
static void again(struct conn *c) {
  if (rate == 0) start(c);
}

static void fail(struct conn *c, const char *what, int err) {
  note_error(what, err);
  finish(c);
  again(c);
}

/* Writes the request; returns 1 when written, 0 when the socket is not connected yet, -1 on error. */
static int send_request(struct conn *c) {
  const char *req = requests + (next_request % request_count) * request_len;
  ssize_t n = send(c->fd, req, request_len, MSG_NOSIGNAL);
  if (n == (ssize_t)request_len) {
    next_request++;
    c->state = READING;
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) return 0;
  if (n >= 0) errno = EMSGSIZE; /* a short write of a small request: should not happen */
  return -1;
}

static void start(struct conn *c) {
  c->state = IDLE;
  if (stopping) return;
  c->got = 0;
  c->started = now_us();
  if (measuring) sent++;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (sources > 1) {
    struct sockaddr_in local = {.sin_family = AF_INET};
    local.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(next_source++ % (uint64_t)sources));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) die("bind");
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &to.sin_addr);
  c->fd = fd;
  c->state = CONNECTING;
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
    int err = errno;
    finish(c);
    note_error("connect", err);
    /* Do not spin on a refused connect: this connection slot stays idle. */
    return;
  }
  /* On loopback the handshake has usually completed already: write at once. */
  if (send_request(c) < 0) {
    int err = errno;
    finish(c);
    note_error("send", err);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static void record(double latency_us) {
  completed++;
  if (lat_len == lat_cap) {
    lat_cap = lat_cap ? lat_cap * 2 : 1 << 16;
    lat = realloc(lat, lat_cap * sizeof *lat);
    if (!lat) die("realloc");
  }
  lat[lat_len++] = latency_us;
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == IDLE) return;
  if (c->state == CONNECTING) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      fail(c, "connect", err ? err : ECONNRESET);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    int r = send_request(c);
    if (r < 0) {
      fail(c, "send", errno);
      return;
    }
    if (r == 0) return;
  }
  /* READING: drain (edge-triggered). */
  for (;;) {
    ssize_t n = recv(c->fd, rbuf, rbuf_len, 0);
    if (n > 0) {
      c->got += (size_t)n;
      if (c->got > reply_len) {
        fail(c, "reply longer than expected", 0);
        return;
      }
      if (expect_len && c->got == (size_t)n && ((size_t)n < expect_len || memcmp(rbuf, expect, expect_len) != 0)) {
        fail(c, "unexpected reply", 0);
        return;
      }
      if (c->got == reply_len) {
        double t = now_us();
        if (measuring && !stopping && t <= measure_end) record(t - c->started);
        finish(c);
        again(c);
        return;
      }
      continue;
    }
    if (n == 0) {
      fail(c, "closed before the full reply", 0);
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    fail(c, "recv", errno);
    return;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(double q) {
  if (lat_len == 0) return -1;
  size_t i = (size_t)(q * (double)lat_len);
  if (i >= lat_len) i = lat_len - 1;
  return lat[i] / 1000.0;
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port P --reply-len N --request-len L --requests FILE [--host A] [--seconds S] [--warmup S] [--concurrency C] [--sources N] [--rate R] [--expect PREFIX] [--pid PID]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--seconds")) seconds = atof(v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--concurrency")) concurrency = atoi(v);
    else if (!strcmp(a, "--sources")) sources = atoi(v);
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--reply-len")) reply_len = (size_t)atol(v);
    else if (!strcmp(a, "--request-len")) request_len = (size_t)atol(v);
    else if (!strcmp(a, "--requests")) file = v;
    else if (!strcmp(a, "--expect")) expect = v, expect_len = strlen(v);
    else if (!strcmp(a, "--pid")) server_pid = atoi(v);
    else usage();
  }
  if (port <= 0 || port > 65535 || reply_len == 0 || request_len == 0 || !file || concurrency < 1 || sources < 1 || sources > 254 ||
      !(seconds > 0) || !(warmup >= 0) || !(rate >= 0))
    usage();

  int rf = open(file, O_RDONLY | O_CLOEXEC);
  if (rf < 0) die(file);
  struct stat st;
  if (fstat(rf, &st) < 0) die("fstat");
  if (st.st_size == 0 || (size_t)st.st_size % request_len != 0) {
    fprintf(stderr, "loadgen: %s holds %lld bytes, not a multiple of %zu\n", file, (long long)st.st_size, request_len);
    return 2;
  }
  requests = malloc((size_t)st.st_size);
  if (!requests) die("malloc");
  for (size_t off = 0; off < (size_t)st.st_size;) {
    ssize_t n = read(rf, requests + off, (size_t)st.st_size - off);
    if (n <= 0) die("read requests");
    off += (size_t)n;
  }
  close(rf);
  request_count = (size_t)st.st_size / request_len;

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)concurrency + 64) {
    rl.rlim_cur = rl.rlim_max < (rlim_t)concurrency + 64 ? rl.rlim_max : (rlim_t)concurrency + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  rbuf_len = reply_len + 1 > 65536 ? reply_len + 1 : 65536;
  rbuf = malloc(rbuf_len);
  conns = calloc((size_t)concurrency, sizeof *conns);
  idle_slots = calloc((size_t)concurrency, sizeof *idle_slots);
  if (!rbuf || !conns || !idle_slots) die("malloc");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");

  double t0 = now_us();
  double warm_end = t0 + warmup * 1e6;
  measure_end = warm_end + seconds * 1e6;
  double cpu_server0 = 0, cpu_self0 = 0;
  if (warmup == 0) {
    measuring = 1;
    measure_start = t0;
    cpu_server0 = proc_cpu_us(server_pid);
    cpu_self0 = self_cpu_us();
  }
  for (int i = 0; i < concurrency; i++) conns[i].fd = -1;
  if (rate == 0) for (int i = 0; i < concurrency; i++) start(&conns[i]);
  else for (int i = concurrency - 1; i >= 0; i--) idle_slots[idle_count++] = i;
  uint64_t due_done = 0;

  struct epoll_event events[256];
  double cpu_server1 = 0, cpu_self1 = 0, drain_deadline = 0;
  for (;;) {
    double t = now_us();
    if (!measuring && t >= warm_end) {
      measuring = 1;
      measure_start = t;
      cpu_server0 = proc_cpu_us(server_pid);
      cpu_self0 = self_cpu_us();
    }
    if (!stopping && t >= measure_end) {
      stopping = 1;
      cpu_server1 = proc_cpu_us(server_pid);
      cpu_self1 = self_cpu_us();
      drain_deadline = t + 2e6;
    }
    if (stopping) {
      int open_conns = 0;
      for (int i = 0; i < concurrency; i++) open_conns += conns[i].state != IDLE;
      if (open_conns == 0 || t >= drain_deadline) break;
    }
    if (rate > 0 && !stopping) {
      /* Every connection due by now: started if a slot is free, else skipped (open loop never catches up later). */
      uint64_t due = (uint64_t)((t - t0) * rate / 1e6);
      for (; due_done < due; due_done++) {
        if (idle_count > 0) start(&conns[idle_slots[--idle_count]]);
        else if (measuring) skipped++;
      }
    }
    int n = epoll_wait(epfd, events, 256, rate > 0 ? 1 : 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
  for (int i = 0; i < concurrency; i++) finish(&conns[i]);

  double measured = (measure_end - measure_start) / 1e6;
  qsort(lat, lat_len, sizeof *lat, cmp_double);
  double server_us = server_pid > 0 && cpu_server0 >= 0 && cpu_server1 >= 0 ? (cpu_server1 - cpu_server0) : -1;
  double per = completed ? (double)completed : 1;
  printf("{\"requests\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"rps\":%.1f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
         "\"serverCpuUsPerRequest\":%.1f,\"clientCpuUsPerRequest\":%.1f,\"sent\":%llu,\"skipped\":%llu,\"firstError\":",
         (unsigned long long)completed, (unsigned long long)errors, measured, (double)completed / measured, quantile(0.5), quantile(0.9),
         quantile(0.99), quantile(1.0), server_us >= 0 ? server_us / per : -1.0, (cpu_self1 - cpu_self0) / per,
         (unsigned long long)sent, (unsigned long long)skipped);
  if (first_error[0]) {
    putchar('"');
    for (const char *p = first_error; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar(*p >= 0x20 ? *p : '?');
    }
    putchar('"');
  } else {
    fputs("null", stdout);
  }
  puts("}");
  return 0;
}
