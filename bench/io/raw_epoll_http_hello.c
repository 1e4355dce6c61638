// raw-epoll-http-hello: the baseline of the HTTP hello benchmark (scripts/bench-io), plain C11
// and epoll, no weft: the least a server can do per request, to hold weft-http-hello against.
//
//   raw-epoll-http-hello PORT [--threads N]
//
// The structure of raw-epoll-echo (N threads, one SO_REUSEPORT listener and one
// edge-triggered epoll each; read once after a short read unless EPOLLRDHUP came), with
// HTTP instead of echo: a request ends at its first "\r\n\r\n" — no parsing beyond that, no
// bodies, no limits, which is why it is a lower bound and not a server — and each gets the
// same response weft-http-hello sends (status line, Date, Server, Content-Type,
// Content-Length, 13-byte body). Responses to pipelined requests are written together.
// Each connection owns fixed 8 KiB input and 16 KiB output buffers; nothing is allocated per
// request. SIGINT/SIGTERM stop it cleanly.

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
#include <time.h>
#include <unistd.h>

enum { kInSize = 8192, kOutSize = 16384, kMaxEvents = 256 };

struct Conn {
  int fd;
  bool rdhup;
  bool want_read;
  size_t in_len;
  size_t out_len;
  size_t out_off;
  struct Conn* prev;
  struct Conn* next;
  char in[kInSize];
  char out[kOutSize];
};

struct Worker {
  pthread_t thread;
  int listen_fd;
  int epoll_fd;
  struct Conn* conns;
  time_t date_second;
  char response[256];
  size_t response_len;
};

static int g_stop_fd = -1;

static void die(const char* what) {
  fprintf(stderr, "raw-epoll-http-hello: %s: %s\n", what, strerror(errno));
  exit(1);
}

// The response with a Date of this second, formatted at most once a second (as weft does).
static void refresh_response(struct Worker* w) {
  const time_t now = time(NULL);
  if (now == w->date_second && w->response_len > 0) return;
  w->date_second = now;
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&now, &tm);
  const int n = snprintf(w->response, sizeof w->response,
                         "HTTP/1.1 200 OK\r\nDate: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
                         "Server: weft\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Length: 13\r\n\r\nhello, world\n",
                         days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
  w->response_len = (size_t)n;
}

static void close_conn(struct Worker* w, struct Conn* c) {
  close(c->fd);
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  free(c);
}

static void watch(struct Worker* w, struct Conn* c, int op, bool out) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0u),
                           .data.ptr = c};
  if (epoll_ctl(w->epoll_fd, op, c->fd, &ev) != 0) die("epoll_ctl");
}

static bool flush(struct Worker* w, struct Conn* c, bool watching_out) {
  while (c->out_off < c->out_len) {
    const ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return false;
      if (!watching_out) watch(w, c, EPOLL_CTL_MOD, true);
      return true;
    }
    c->out_off += (size_t)n;
  }
  c->out_len = c->out_off = 0;
  if (watching_out) watch(w, c, EPOLL_CTL_MOD, false);
  return true;
}

// Answers every complete request in c->in; keeps the incomplete rest. False: close.
static bool answer(struct Worker* w, struct Conn* c) {
  size_t start = 0;
  for (;;) {
    const char* end = memmem(c->in + start, c->in_len - start, "\r\n\r\n", 4);
    if (end == NULL) break;
    refresh_response(w);
    if (c->out_len + w->response_len > kOutSize) {
      if (!flush(w, c, false)) return false;
      if (c->out_len > 0) break;  // the socket is full: the rest waits for EPOLLOUT
    }
    memcpy(c->out + c->out_len, w->response, w->response_len);
    c->out_len += w->response_len;
    start = (size_t)(end - c->in) + 4;
  }
  memmove(c->in, c->in + start, c->in_len - start);
  c->in_len -= start;
  return c->in_len < kInSize;  // a full buffer without a request end: not HTTP we answer
}

static bool serve(struct Worker* w, struct Conn* c) {
  // Requests left over when the output filled up (a long pipeline) are answered first.
  if (c->in_len > 0) {
    if (!answer(w, c) || !flush(w, c, false)) return false;
    if (c->out_len > 0) {
      c->want_read = true;
      return true;
    }
  }
  for (;;) {
    const size_t room = kInSize - c->in_len;
    const ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    c->in_len += (size_t)n;
    if (!answer(w, c) || !flush(w, c, false)) return false;
    if (c->out_len > 0) {
      c->want_read = true;
      return true;
    }
    if ((size_t)n < room && !c->rdhup) return true;
  }
}

static void accept_all(struct Worker* w) {
  for (;;) {
    const int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN) return;
      if (errno == EMFILE || errno == ENFILE) {
        fprintf(stderr, "raw-epoll-http-hello: accept: %s\n", strerror(errno));
        return;
      }
      die("accept4");
    }
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("setsockopt");
    struct Conn* c = malloc(sizeof *c);
    if (c == NULL) die("malloc");
    memset(c, 0, offsetof(struct Conn, in));
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
      if ((ev & EPOLLOUT) != 0 && c->out_len > 0) {
        if (!flush(w, c, true)) {
          close_conn(w, c);
          continue;
        }
        if (c->out_len > 0) continue;
      }
      if ((ev & (EPOLLIN | EPOLLRDHUP)) != 0 || c->want_read) {
        if (c->out_len > 0) {
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
  if (listen(fd, 1024) != 0) die("listen");
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2) {
  usage:
    fprintf(stderr, "usage: raw-epoll-http-hello PORT [--threads N]\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  int threads = 1;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = atoi(argv[++i]);
    else
      goto usage;
  }
  if (port <= 0 || port > 65535 || threads < 1) goto usage;

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
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
  printf("raw-epoll-http-hello listening on 127.0.0.1:%d with %d threads\n", port, threads);
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
