// echo-load: the load generator of the TCP echo benchmark (scripts/bench-io), and the idle
// connection holder of the memory measurement.
//
//   echo-load HOST:PORT [--connections 50] [--size 64] [--seconds 5] [--warmup 1]
//             [--threads 1] [--server-pid PID] [--strace FILE] [--perf FILE]
//   echo-load HOST:PORT --idle N [--size 64]
//
// Load: every connection ping-pongs one message at a time (send `size` bytes, wait until
// the same number of bytes came back, send again); one message = one round trip. Each
// thread drives its share of the connections with its own level-triggered epoll.
//
// The measured window is bounded by quiet points: after the warm-up the threads stop
// sending and wait until every reply is in, the counters (and, with --server-pid, the
// server's utime/stime from /proc/PID/stat) are read, and only then does the window start;
// it ends the same way. So the server's CPU and syscalls in the window belong exactly to
// the round trips counted in it, with nothing in flight at either edge. With --strace, an
// `strace -f -c -p PID -o FILE` is attached to the server before the window opens (every
// thread checked through /proc/PID/task/*/status TracerPid) and interrupted after it
// closes; the connections are set up and torn down outside the trace. strace stops the
// server at every syscall, which slows it ~10x: the server is then the bottleneck and sees
// large batches. --perf FILE counts the server's syscalls at full speed instead, with
// `perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_<name>... -p PID -x, -o FILE`
// started with its events disabled and switched on and off through its control fd (each
// switch acknowledged), at the same quiet edges.
//
// Round-trip latency: each request's send time is taken from CLOCK_MONOTONIC just before its
// send(), and when the last byte of its reply has been received the difference goes into the
// thread's histogram. Only round trips sent and completed inside the measured window are
// recorded (the quiet edges leave nothing that straddles them), so the histogram holds
// exactly the round_trips of the window. The clock is read once per round trip: the time the
// reply completed is also the send time of the next request on that connection. A latency
// includes the client's own delay in getting to the reply (the other replies of the same
// epoll_wait batch are handled first). The histogram is log-linear in nanoseconds: exact below
// 128 ns, then 128 buckets per power of two (each at most 1/128 of its value wide) up to
// 2^33 ns (8.6 s), and one overflow bucket above. The threads' histograms are merged at the
// end; a percentile is the upper edge of the bucket holding the sample of that rank (nearest
// rank), capped at the largest sample, which is kept exactly.
//
// Output is one `key=value` per line for scripts; errors go to stderr with exit status 1. The
// load run prints round_trips, seconds, msgs_per_s, client_user_s, client_sys_s, with
// --server-pid server_user_s and server_sys_s, then latency_samples (equal to round_trips),
// latency_mean_us, latency_p50_us, latency_p90_us, latency_p99_us, latency_p999_us and
// latency_max_us (microseconds, 0.1 µs).
//
// Idle: opens N connections (raising RLIMIT_NOFILE to the hard limit first), echoes one
// message on each so the server has touched its per-connection state, prints
// "idle: N connections open" and holds them until killed.

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMaxSize = 65536, kMaxEvents = 256 };

// The latency histogram (see the top comment): values in ns; below kSub one bucket per value,
// then kSub buckets per power of two from 2^kSubBits up to 2^kTopBits, then the overflow.
enum {
  kSubBits = 7,
  kSub = 1 << kSubBits,
  kTopBits = 33,
  kOverflow = kSub * (kTopBits - kSubBits + 1),
  kBuckets = kOverflow + 1
};

struct Histogram {
  uint64_t counts[kBuckets];
  uint64_t samples;
  uint64_t sum_ns;
  uint64_t max_ns;
};

// Phases the main thread moves the load threads through.
enum Phase { kRun = 0, kQuiesce = 1, kExit = 2 };

struct Conn {
  int fd;
  size_t received;   // bytes of the current reply so far
  bool in_flight;    // a request was sent and its reply is not complete
  uint64_t sent_ns;  // CLOCK_MONOTONIC when the request in flight was sent
};

struct Worker {
  pthread_t thread;
  int epoll_fd;
  struct Conn* conns;
  size_t n_conns;
  // Written by the worker only (relaxed); read by the main thread at quiet points, after
  // `in_flight` reached 0 (acquire on in_flight orders it).
  _Atomic uint64_t round_trips;
  // Requests without their full reply. The worker publishes 0 with release once quiet.
  _Atomic size_t in_flight;
  _Atomic int failed;
  // The last generation this worker has started (sent on every idle connection).
  _Atomic unsigned seen_generation;
  // Round-trip latencies of the window; the worker's own, read by the main thread after
  // pthread_join.
  struct Histogram* latency;
};

static size_t g_size = 64;
static _Atomic int g_phase = kRun;
// Bumped each time the main thread opens a window: workers then send on idle connections.
static _Atomic unsigned g_generation = 0;
// True while the measured window is open. Switched only at quiet points (nothing in flight):
// on before the window's resume() (whose release of g_generation publishes it to the workers,
// which must acquire that generation before they send), off after its final quiesce().
static _Atomic bool g_record = false;
static char g_payload[kMaxSize];

static void die(const char* what) {
  fprintf(stderr, "echo-load: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: echo-load HOST:PORT [--connections N] [--size B] [--seconds S] [--warmup S]\n"
          "                 [--threads T] [--server-pid PID] [--strace FILE] [--perf FILE]\n"
          "       echo-load HOST:PORT --idle N [--size B]\n");
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t bucket_of(uint64_t ns) {
  if (ns < kSub) return (size_t)ns;
  const int top = 63 - __builtin_clzll(ns);  // ns is in [2^top, 2^(top + 1))
  if (top >= kTopBits) return kOverflow;
  const int shift = top - kSubBits;
  return (size_t)(shift + 1) * kSub + (size_t)((ns >> shift) - kSub);
}

// The largest value that falls in `bucket` (below kOverflow).
static uint64_t bucket_high(size_t bucket) {
  if (bucket < kSub) return bucket;
  const int shift = (int)(bucket / kSub) - 1;
  const uint64_t sub = bucket % kSub + kSub;
  return ((sub + 1) << shift) - 1;
}

static void record_latency(struct Histogram* h, uint64_t ns) {
  ++h->counts[bucket_of(ns)];
  ++h->samples;
  h->sum_ns += ns;
  if (ns > h->max_ns) h->max_ns = ns;
}

static void merge_histogram(struct Histogram* into, const struct Histogram* from) {
  for (size_t i = 0; i < kBuckets; ++i) into->counts[i] += from->counts[i];
  into->samples += from->samples;
  into->sum_ns += from->sum_ns;
  if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

// The value at the quantile of `per_million` (nearest rank): the upper edge of the bucket
// holding the sample of rank ceil(per_million / 10^6 * samples), capped at the largest sample.
static uint64_t percentile_ns(const struct Histogram* h, uint64_t per_million) {
  if (h->samples == 0) return 0;
  uint64_t rank = (per_million * h->samples + 999999) / 1000000;
  if (rank < 1) rank = 1;
  if (rank > h->samples) rank = h->samples;
  uint64_t seen = 0;
  for (size_t i = 0; i < kOverflow; ++i) {
    seen += h->counts[i];
    if (seen >= rank) {
      const uint64_t high = bucket_high(i);
      return high < h->max_ns ? high : h->max_ns;
    }
  }
  return h->max_ns;  // in the overflow bucket
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
}

static struct sockaddr_in parse_address(const char* text) {
  char host[256];
  const char* colon = strrchr(text, ':');
  if (colon == NULL || (size_t)(colon - text) >= sizeof host) usage();
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = '\0';
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo* res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
      fprintf(stderr, "echo-load: cannot resolve %s\n", host);
      exit(1);
    }
    addr.sin_addr = ((struct sockaddr_in*)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
  }
  return addr;
}

// A blocking connect, then non-blocking with TCP_NODELAY (the server's side has it too).
static int connect_to(const struct sockaddr_in* addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) != 0) die("connect");
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("setsockopt");
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");
  return fd;
}

// One send of the whole message: a fresh 64-byte request always fits an empty send buffer.
// `now` is the send time of the request (CLOCK_MONOTONIC, ns).
static bool send_request(struct Worker* w, struct Conn* c, uint64_t now) {
  c->sent_ns = now;
  ssize_t n = send(c->fd, g_payload, g_size, MSG_NOSIGNAL);
  if (n != (ssize_t)g_size) {
    fprintf(stderr, "echo-load: send: %s\n", n < 0 ? strerror(errno) : "short write");
    atomic_store(&w->failed, 1);
    return false;
  }
  c->in_flight = true;
  c->received = 0;
  return true;
}

static void* worker_main(void* arg) {
  struct Worker* w = arg;
  static _Thread_local char sink[kMaxSize];
  struct epoll_event events[kMaxEvents];
  size_t in_flight = 0;
  unsigned generation = 0;
  for (;;) {
    const int phase = atomic_load_explicit(&g_phase, memory_order_acquire);
    if (phase == kExit) break;
    const unsigned gen = atomic_load_explicit(&g_generation, memory_order_acquire);
    if (phase == kRun && gen != generation) {
      generation = gen;
      for (size_t i = 0; i < w->n_conns; ++i) {
        if (!w->conns[i].in_flight) {
          if (!send_request(w, &w->conns[i], now_ns())) return NULL;
          ++in_flight;
        }
      }
      atomic_store_explicit(&w->in_flight, in_flight, memory_order_release);
      // After in_flight: a resume() that saw this generation sees the requests too.
      atomic_store_explicit(&w->seen_generation, gen, memory_order_release);
    }
    // Short timeout while quiet so a phase change is seen soon; while busy, replies come
    // much faster than the timeout anyway.
    const int n = epoll_wait(w->epoll_fd, events, kMaxEvents, in_flight > 0 ? 100 : 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    uint64_t done = 0;
    for (int i = 0; i < n; ++i) {
      struct Conn* c = events[i].data.ptr;
      if (!c->in_flight) {  // nothing was asked: only an end of stream or an error is due
        const ssize_t extra = recv(c->fd, sink, sizeof sink, 0);
        if (extra < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        fprintf(stderr, "echo-load: %s\n",
                extra > 0 ? "bytes nobody asked for" : "connection closed by the server");
        atomic_store(&w->failed, 1);
        return NULL;
      }
      const ssize_t got = recv(c->fd, sink, g_size - c->received, 0);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        fprintf(stderr, "echo-load: connection closed by the server (%s)\n",
                got == 0 ? "end of stream" : strerror(errno));
        atomic_store(&w->failed, 1);
        return NULL;
      }
      c->received += (size_t)got;
      if (c->received < g_size) continue;
      const uint64_t now = now_ns();
      if (atomic_load_explicit(&g_record, memory_order_relaxed))
        record_latency(w->latency, now - c->sent_ns);
      ++done;
      c->in_flight = false;
      --in_flight;
      if (atomic_load_explicit(&g_phase, memory_order_relaxed) == kRun) {
        if (!send_request(w, c, now)) return NULL;
        ++in_flight;
      }
    }
    if (done > 0) {
      atomic_fetch_add_explicit(&w->round_trips, done, memory_order_relaxed);
      // Release: the round trips counted above are visible to whoever sees in_flight == 0.
      atomic_store_explicit(&w->in_flight, in_flight, memory_order_release);
    }
  }
  return NULL;
}

// Stops sending and waits until every reply is in; returns the round trips so far.
static uint64_t quiesce(struct Worker* workers, int n_workers) {
  atomic_store_explicit(&g_phase, kQuiesce, memory_order_release);
  const double deadline = now_s() + 10;
  for (;;) {
    bool quiet = true;
    for (int i = 0; i < n_workers; ++i) {
      if (atomic_load(&workers[i].failed)) exit(1);
      if (atomic_load_explicit(&workers[i].in_flight, memory_order_acquire) != 0) quiet = false;
    }
    if (quiet) break;
    if (now_s() > deadline) {
      fprintf(stderr, "echo-load: replies still missing after 10 s\n");
      exit(1);
    }
    sleep_s(0.0002);
  }
  uint64_t total = 0;
  for (int i = 0; i < n_workers; ++i) total += atomic_load(&workers[i].round_trips);
  return total;
}

// Opens a window: every worker sends on its idle connections. Returns once each has done so,
// so a quiesce() right after cannot miss requests that are about to be sent.
static void resume(struct Worker* workers, int n_workers) {
  atomic_store_explicit(&g_phase, kRun, memory_order_release);
  const unsigned gen = atomic_fetch_add_explicit(&g_generation, 1, memory_order_release) + 1;
  for (int i = 0; i < n_workers; ++i) {
    while (atomic_load_explicit(&workers[i].seen_generation, memory_order_acquire) != gen) {
      if (atomic_load(&workers[i].failed)) exit(1);
      sleep_s(0.0001);
    }
  }
}

struct Cpu {
  double user_s, sys_s;
};

// utime and stime of the whole process (every thread), fields 14 and 15 of /proc/PID/stat.
static struct Cpu process_cpu(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "r");
  if (f == NULL) die(path);
  const size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  // The command name may hold spaces and parentheses: fields resume after the last ')'.
  const char* p = strrchr(buf, ')');
  if (p == NULL) die("parse /proc/PID/stat");
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15).
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    die("parse /proc/PID/stat");
  const double tick = (double)sysconf(_SC_CLK_TCK);
  return (struct Cpu){(double)utime / tick, (double)stime / tick};
}

// True when every thread of `pid` is traced by `tracer`.
static bool all_threads_traced(pid_t pid, pid_t tracer) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR* dir = opendir(path);
  if (dir == NULL) die(path);
  bool all = true;
  struct dirent* e;
  while (all && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char status[128], line[256];
    snprintf(status, sizeof status, "/proc/%d/task/%s/status", (int)pid, e->d_name);
    FILE* f = fopen(status, "r");
    if (f == NULL) continue;  // the thread just exited
    int traced_by = 0;
    while (fgets(line, sizeof line, f) != NULL)
      if (sscanf(line, "TracerPid: %d", &traced_by) == 1) break;
    fclose(f);
    all = traced_by == (int)tracer;
  }
  closedir(dir);
  return all;
}

static pid_t start_strace(pid_t server, const char* out) {
  char pid_text[32];
  snprintf(pid_text, sizeof pid_text, "%d", (int)server);
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    execlp("strace", "strace", "-f", "-c", "-q", "-p", pid_text, "-o", out, (char*)NULL);
    fprintf(stderr, "echo-load: cannot run strace: %s\n", strerror(errno));
    _exit(127);
  }
  const double deadline = now_s() + 10;
  while (!all_threads_traced(server, child)) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      fprintf(stderr, "echo-load: strace exited before attaching\n");
      exit(1);
    }
    if (now_s() > deadline) {
      fprintf(stderr, "echo-load: strace did not attach within 10 s\n");
      exit(1);
    }
    sleep_s(0.01);
  }
  return child;
}

static void stop_strace(pid_t child) {
  // SIGINT: strace detaches and writes the -c summary.
  if (kill(child, SIGINT) != 0) die("kill strace");
  int status;
  if (waitpid(child, &status, 0) != child) die("waitpid strace");
}

// A `perf stat` counting the server's syscalls, switched on and off through its control fd.
struct Perf {
  pid_t pid;
  int ctl;  // we write "enable\n" / "disable\n"
  int ack;  // perf answers "ack\n"
};

// The syscalls an echo server makes, each counted on its own; raw_syscalls:sys_enter counts
// them all.
static const char kPerfEvents[] =
    "raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,"
    "syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_read,"
    "syscalls:sys_enter_write,syscalls:sys_enter_sched_yield,syscalls:sys_enter_epoll_ctl";

static void perf_command(const struct Perf* p, const char* command) {
  if (write(p->ctl, command, strlen(command)) != (ssize_t)strlen(command)) die("perf control");
  char ack[16] = {0};
  size_t got = 0;
  while (got < 4) {  // "ack\n"
    const ssize_t n = read(p->ack, ack + got, sizeof ack - 1 - got);
    if (n <= 0) {
      fprintf(stderr, "echo-load: perf did not acknowledge '%.*s'\n", (int)strlen(command) - 1,
              command);
      exit(1);
    }
    got += (size_t)n;
  }
}

static struct Perf start_perf(pid_t server, const char* out) {
  int ctl[2], ack[2];
  if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(ack, O_CLOEXEC) != 0) die("pipe2");
  char pid_text[32];
  snprintf(pid_text, sizeof pid_text, "%d", (int)server);
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    // perf's control fds as 3 and 4 (dup2 clears close-on-exec).
    if (dup2(ctl[0], 3) < 0 || dup2(ack[1], 4) < 0) _exit(127);
    execlp("perf", "perf", "stat", "-x,", "-o", out, "--delay=-1", "--control", "fd:3,4", "-e",
           kPerfEvents, "-p", pid_text, (char*)NULL);
    fprintf(stderr, "echo-load: cannot run perf: %s\n", strerror(errno));
    _exit(127);
  }
  close(ctl[0]);
  close(ack[1]);
  struct Perf p = {child, ctl[1], ack[0]};
  perf_command(&p, "enable\n");
  return p;
}

static void stop_perf(struct Perf* p) {
  perf_command(p, "disable\n");
  close(p->ctl);
  close(p->ack);
  if (kill(p->pid, SIGINT) != 0) die("kill perf");
  int status;
  if (waitpid(p->pid, &status, 0) != p->pid) die("waitpid perf");
}

static int run_idle(const struct sockaddr_in* addr, long n) {
  raise_fd_limit();
  int* fds = calloc((size_t)n, sizeof *fds);
  if (fds == NULL) die("calloc");
  static char reply[kMaxSize];
  for (long i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket (raise the hard fd limit: ulimit -Hn)");
    if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) != 0) die("connect");
    // One blocking echo per connection: the server has then read into its buffer once.
    if (send(fd, g_payload, g_size, MSG_NOSIGNAL) != (ssize_t)g_size) die("send");
    size_t got = 0;
    while (got < g_size) {
      const ssize_t r = recv(fd, reply, g_size - got, 0);
      if (r <= 0) die("recv");
      got += (size_t)r;
    }
    fds[i] = fd;
  }
  printf("idle: %ld connections open\n", n);
  fflush(stdout);
  for (;;) pause();
}

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const struct sockaddr_in addr = parse_address(argv[1]);
  long connections = 50, idle = 0;
  double seconds = 5, warmup = 1;
  int threads = 1;
  pid_t server = 0;
  const char* strace_out = NULL;
  const char* perf_out = NULL;
  for (int i = 2; i < argc; ++i) {
    const char* a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (strcmp(a, "--connections") == 0)
      connections = atol(v);
    else if (strcmp(a, "--size") == 0)
      g_size = (size_t)atol(v);
    else if (strcmp(a, "--seconds") == 0)
      seconds = atof(v);
    else if (strcmp(a, "--warmup") == 0)
      warmup = atof(v);
    else if (strcmp(a, "--threads") == 0)
      threads = atoi(v);
    else if (strcmp(a, "--server-pid") == 0)
      server = (pid_t)atol(v);
    else if (strcmp(a, "--strace") == 0)
      strace_out = v;
    else if (strcmp(a, "--perf") == 0)
      perf_out = v;
    else if (strcmp(a, "--idle") == 0)
      idle = atol(v);
    else
      usage();
  }
  if (g_size == 0 || g_size > kMaxSize || connections < 1 || threads < 1 || seconds <= 0 ||
      warmup < 0)
    usage();
  if ((strace_out != NULL || perf_out != NULL) && server == 0) {
    fprintf(stderr, "echo-load: --strace and --perf need --server-pid\n");
    return 2;
  }
  memset(g_payload, 'x', g_size);
  if (idle > 0) return run_idle(&addr, idle);
  raise_fd_limit();
  if (threads > connections) threads = (int)connections;

  struct Worker* workers = calloc((size_t)threads, sizeof *workers);
  struct Conn* conns = calloc((size_t)connections, sizeof *conns);
  if (workers == NULL || conns == NULL) die("calloc");
  for (int t = 0; t < threads; ++t) {
    struct Worker* w = &workers[t];
    w->latency = calloc(1, sizeof *w->latency);
    if (w->latency == NULL) die("calloc");
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd < 0) die("epoll_create1");
    // Connections split evenly; the first threads take the remainder.
    const size_t base = (size_t)connections / (size_t)threads;
    const size_t extra = (size_t)connections % (size_t)threads;
    w->n_conns = base + ((size_t)t < extra ? 1 : 0);
    w->conns = conns + (size_t)t * base + ((size_t)t < extra ? (size_t)t : extra);
    for (size_t i = 0; i < w->n_conns; ++i) {
      struct Conn* c = &w->conns[i];
      c->fd = connect_to(&addr);
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
      if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
    }
  }
  for (int t = 0; t < threads; ++t)
    if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0)
      die("pthread_create");
  resume(workers, threads);  // the warm-up
  if (warmup > 0) sleep_s(warmup);

  const uint64_t before = quiesce(workers, threads);
  pid_t tracer = 0;
  if (strace_out != NULL) tracer = start_strace(server, strace_out);
  struct Perf perf = {0, -1, -1};
  if (perf_out != NULL) perf = start_perf(server, perf_out);
  struct Cpu server0 = {0, 0}, server1 = {0, 0};
  if (server != 0) server0 = process_cpu(server);
  struct rusage self0, self1;
  getrusage(RUSAGE_SELF, &self0);
  const double t0 = now_s();
  atomic_store_explicit(&g_record, true, memory_order_relaxed);  // published by resume()
  resume(workers, threads);
  sleep_s(seconds);
  const uint64_t after = quiesce(workers, threads);
  atomic_store_explicit(&g_record, false, memory_order_relaxed);  // nothing is in flight
  const double t1 = now_s();
  getrusage(RUSAGE_SELF, &self1);
  if (server != 0) server1 = process_cpu(server);
  if (tracer != 0) stop_strace(tracer);
  if (perf.pid != 0) stop_perf(&perf);

  atomic_store(&g_phase, kExit);
  for (int t = 0; t < threads; ++t) pthread_join(workers[t].thread, NULL);
  for (long i = 0; i < connections; ++i) close(conns[i].fd);
  struct Histogram* latency = calloc(1, sizeof *latency);
  if (latency == NULL) die("calloc");
  for (int t = 0; t < threads; ++t) merge_histogram(latency, workers[t].latency);

  const uint64_t msgs = after - before;
  const double elapsed = t1 - t0;
  printf("round_trips=%llu\n", (unsigned long long)msgs);
  printf("seconds=%.4f\n", elapsed);
  printf("msgs_per_s=%.0f\n", (double)msgs / elapsed);
  const double self_user = (double)(self1.ru_utime.tv_sec - self0.ru_utime.tv_sec) +
                           (double)(self1.ru_utime.tv_usec - self0.ru_utime.tv_usec) * 1e-6;
  const double self_sys = (double)(self1.ru_stime.tv_sec - self0.ru_stime.tv_sec) +
                          (double)(self1.ru_stime.tv_usec - self0.ru_stime.tv_usec) * 1e-6;
  printf("client_user_s=%.3f\nclient_sys_s=%.3f\n", self_user, self_sys);
  if (server != 0) {
    printf("server_user_s=%.3f\n", server1.user_s - server0.user_s);
    printf("server_sys_s=%.3f\n", server1.sys_s - server0.sys_s);
  }
  if (latency->samples != msgs) {
    fprintf(stderr, "echo-load: %llu latencies recorded for %llu round trips\n",
            (unsigned long long)latency->samples, (unsigned long long)msgs);
    return 1;
  }
  printf("latency_samples=%llu\n", (unsigned long long)latency->samples);
  printf("latency_mean_us=%.1f\n",
         latency->samples == 0 ? 0.0 : (double)latency->sum_ns / (double)latency->samples / 1e3);
  printf("latency_p50_us=%.1f\n", (double)percentile_ns(latency, 500000) / 1e3);
  printf("latency_p90_us=%.1f\n", (double)percentile_ns(latency, 900000) / 1e3);
  printf("latency_p99_us=%.1f\n", (double)percentile_ns(latency, 990000) / 1e3);
  printf("latency_p999_us=%.1f\n", (double)percentile_ns(latency, 999000) / 1e3);
  printf("latency_max_us=%.1f\n", (double)latency->max_ns / 1e3);
  for (int t = 0; t < threads; ++t) free(workers[t].latency);
  free(latency);
  free(workers);
  free(conns);
  return 0;
}
