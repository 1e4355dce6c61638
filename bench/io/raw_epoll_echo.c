// raw-epoll-echo: the baseline of the TCP echo benchmark (scripts/bench-io), plain C11 and
// epoll, no weft: what a hand-written server costs, to hold weft-echo against.
//
//   raw-epoll-echo PORT [--threads N] [--always-epollout]
//
// N threads, each with its own SO_REUSEPORT listener on 127.0.0.1:PORT (the kernel spreads
// connections over them) and its own edge-triggered epoll; a connection stays on the thread
// that accepted it. Each connection owns a fixed 4 KiB buffer, allocated at accept; nothing
// is allocated per message.
//
// On a readiness edge a connection reads once. A read shorter than the buffer emptied the
// receive buffer, so it does not read again until the next edge (no EAGAIN syscall) — unless
// the edge carried EPOLLRDHUP: then no further edge will come, so it reads on to the end of
// stream and closes. A full read loops. What was read is written back at once; a short write
// (rare for 64-byte messages) keeps the rest and waits for EPOLLOUT before reading again.
//
// This is the same protocol as weft's (weft/io/detail/socket.hpp: a short recv forgets the
// readiness, and a sticky CLOSED mark keeps an end of stream that arrived with the data), so
// the comparison measures the runtime, not a different read strategy: one recv and one send
// per 64-byte message, plus an epoll_wait per batch of ready connections.
//
// --always-epollout registers EPOLLOUT from the start, as weft's reactor does (it registers
// every fd once for both directions): to measure what the extra write-space wake-ups cost.
//
// SIGINT or SIGTERM stops it cleanly: both are blocked before the threads start; the main
// thread reads them from a signalfd and wakes every worker through an eventfd.

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

// The same as weft-echo's buffer and weft's reactor batch (runtime/src/reactor.hpp).
enum { kBufferSize = 4096, kMaxEvents = 256 };

struct Conn {
  int fd;
  bool rdhup;      // the peer's FIN was reported: read to the end, no more edges come
  bool want_read;  // an edge arrived while a write was pending
  size_t pending;  // bytes of `buf` still to be written back
  size_t pending_off;
  struct Conn* prev;  // the worker's list of open connections, freed at exit
  struct Conn* next;
  char buf[kBufferSize];
};

struct Worker {
  pthread_t thread;
  int listen_fd;
  int epoll_fd;
  struct Conn* conns;
};

static int g_stop_fd = -1;  // eventfd, written once at shutdown; level-triggered everywhere
static bool g_always_out = false;

static void die(const char* what) {
  fprintf(stderr, "raw-epoll-echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void close_conn(struct Worker* w, struct Conn* c) {
  close(c->fd);  // also removes it from the epoll set (the fd is never duplicated)
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  free(c);
}

static void watch(struct Worker* w, struct Conn* c, int op, bool out) {
  struct epoll_event ev = {
      .events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out || g_always_out ? EPOLLOUT : 0u),
      .data.ptr = c};
  if (epoll_ctl(w->epoll_fd, op, c->fd, &ev) != 0) die("epoll_ctl");
}

// Writes c->pending bytes from c->pending_off. False if the connection failed.
static bool flush(struct Worker* w, struct Conn* c, bool watching_out) {
  while (c->pending > 0) {
    const ssize_t n = send(c->fd, c->buf + c->pending_off, c->pending, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return false;
      if (!watching_out) watch(w, c, EPOLL_CTL_MOD, true);
      return true;
    }
    c->pending -= (size_t)n;
    c->pending_off += (size_t)n;
  }
  if (watching_out) watch(w, c, EPOLL_CTL_MOD, false);
  return true;
}

// Reads and echoes until the receive buffer is known to be empty. False: close it.
static bool serve(struct Worker* w, struct Conn* c) {
  for (;;) {
    const ssize_t n = recv(c->fd, c->buf, kBufferSize, 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    c->pending = (size_t)n;
    c->pending_off = 0;
    if (!flush(w, c, false)) return false;
    if (c->pending > 0) {  // wait for EPOLLOUT; the data left unread waits for the flush
      c->want_read = true;
      return true;
    }
    if (n < kBufferSize && !c->rdhup) return true;  // drained: wait for the next edge
  }
}

static void accept_all(struct Worker* w) {
  for (;;) {
    const int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN) return;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of fds: the benchmark sized things wrong; say so rather than spin.
        fprintf(stderr, "raw-epoll-echo: accept: %s\n", strerror(errno));
        return;
      }
      die("accept4");
    }
    // weft's TcpStream turns TCP_NODELAY on for every connection; so does the baseline.
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("setsockopt");
    struct Conn* c = malloc(sizeof *c);
    if (c == NULL) die("malloc");
    memset(c, 0, offsetof(struct Conn, buf));
    c->fd = fd;
    c->next = w->conns;
    if (w->conns != NULL) w->conns->prev = c;
    w->conns = c;
    watch(w, c, EPOLL_CTL_ADD, false);
  }
}

static void* worker_main(void* arg) {
  struct Worker* w = arg;
  struct epoll_event events[kMaxEvents];
  for (;;) {
    const int n = epoll_wait(w->epoll_fd, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      void* p = events[i].data.ptr;
      const uint32_t ev = events[i].events;
      if (p == &g_stop_fd) goto out;
      if (p == w) {
        accept_all(w);
        continue;
      }
      struct Conn* c = p;
      if ((ev & (EPOLLERR | EPOLLHUP)) != 0) {
        close_conn(w, c);
        continue;
      }
      if ((ev & EPOLLRDHUP) != 0) c->rdhup = true;
      if ((ev & EPOLLOUT) != 0 && c->pending > 0) {
        if (!flush(w, c, true)) {
          close_conn(w, c);
          continue;
        }
        if (c->pending > 0) continue;
      }
      if ((ev & (EPOLLIN | EPOLLRDHUP)) != 0 || c->want_read) {
        if (c->pending > 0) {  // still writing: read when the write is done
          c->want_read = true;
          continue;
        }
        c->want_read = false;
        if (!serve(w, c)) close_conn(w, c);
      }
    }
  }
out:
  while (w->conns != NULL) close_conn(w, w->conns);
  return NULL;
}

static int listen_on(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die("SO_REUSEADDR");
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) die("SO_REUSEPORT");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (listen(fd, 1024) != 0) die("listen");  // weft's TcpListenerOptions::backlog
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2) {
  usage:
    fprintf(stderr, "usage: raw-epoll-echo PORT [--threads N] [--always-epollout]\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  int threads = 1;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--always-epollout") == 0)
      g_always_out = true;
    else
      goto usage;
  }
  if (port <= 0 || port > 65535 || threads < 1) goto usage;

  // Idle-connection measurements open tens of thousands of sockets.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }

  // Blocked before any thread starts, so every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) die("pthread_sigmask");
  const int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sig_fd < 0) die("signalfd");
  g_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g_stop_fd < 0) die("eventfd");

  struct Worker* workers = calloc((size_t)threads, sizeof *workers);
  if (workers == NULL) die("calloc");
  for (int t = 0; t < threads; ++t) {
    struct Worker* w = &workers[t];
    w->listen_fd = listen_on(port);
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = w};
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->listen_fd, &ev) != 0) die("epoll_ctl");
    struct epoll_event stop = {.events = EPOLLIN, .data.ptr = &g_stop_fd};
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, g_stop_fd, &stop) != 0) die("epoll_ctl");
  }
  for (int t = 0; t < threads; ++t)
    if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0)
      die("pthread_create");
  printf("raw-epoll-echo listening on 127.0.0.1:%d with %d threads\n", port, threads);
  fflush(stdout);

  struct signalfd_siginfo info;
  while (read(sig_fd, &info, sizeof info) < 0 && errno == EINTR) {
  }
  const uint64_t one = 1;
  if (write(g_stop_fd, &one, sizeof one) != sizeof one) die("write eventfd");
  for (int t = 0; t < threads; ++t) {
    pthread_join(workers[t].thread, NULL);
    close(workers[t].epoll_fd);
    close(workers[t].listen_fd);
  }
  free(workers);
  close(g_stop_fd);
  close(sig_fd);
  return 0;
}
