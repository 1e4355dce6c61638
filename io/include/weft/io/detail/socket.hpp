#pragma once

// What TCP and Unix-domain sockets share: a connected byte stream (StreamSocket) and a
// listening socket whose accept() never spins when the process runs out of fds
// (ListenerSocket). TcpStream/UnixStream and TcpListener/UnixListener are thin typed faces
// over these two, so the readiness protocol and the EMFILE back-off live in one place.
//
// Readiness protocol (see weft/async_fd.hpp): wait for readiness, do the syscall, and after
// EAGAIN clear exactly the readiness that was seen. A short write or read of a stream socket
// also clears it: the send buffer was full (or the receive buffer empty) at that moment, and
// room (or data, or an error) raises a new edge with a new tick; that saves the EAGAIN
// syscall, so a request/response exchange costs one recv and one send. A FIN that came with
// the same edge as the data raises no new one: the reactor keeps it as a sticky CLOSED mark
// that no clear erases, so the next read sees the end of stream.
//
// Every fd is created with SOCK_NONBLOCK | SOCK_CLOEXEC and owned by an AsyncFd (RAII);
// every wait is an AsyncFd wait or a weft::sleep, so every operation is cancellable and
// works under weft::wait_for. Writes use send(MSG_NOSIGNAL): a closed peer is an EPIPE or
// ECONNRESET std::system_error, never SIGPIPE. sendfile(2) cannot say MSG_NOSIGNAL: its
// SIGPIPE is held by the loop thread's signal mask and taken back (weft/detail/sigpipe.hpp).
//
// Fairness: one syscall moves at most 256 KiB, and each charges the bytes it moved to the
// task's cooperative budget (weft::detail::charge_budget_for_io), so a large read_some,
// write_all or send_file to a fast peer yields its loop about every 256 KiB, like any other
// task that uses up its budget, instead of holding it for the whole transfer.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/async_fd.hpp"
#include "weft/io/connection_placement.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

// read_exact() met the end of the stream before the buffer was full (asyncio's
// IncompleteReadError). `received` bytes of the buffer are valid.
class WEFT_IO_API IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::size_t received, std::size_t expected);
  [[nodiscard]] std::size_t received() const noexcept { return received_; }
  [[nodiscard]] std::size_t expected() const noexcept { return expected_; }

 private:
  std::size_t received_;
  std::size_t expected_;
};

namespace detail {

// A socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; throws std::system_error naming `who`.
[[nodiscard]] WEFT_IO_API int open_socket(int family, int type, const char* who);
[[nodiscard]] WEFT_IO_API SocketAddress local_address_of(int fd);
[[nodiscard]] WEFT_IO_API SocketAddress peer_address_of(int fd);
// getsockopt/setsockopt of an int option; throw std::system_error naming `who`.
WEFT_IO_API void set_int_option(int fd, int level, int name, int value, const char* who);
[[nodiscard]] WEFT_IO_API int get_int_option(int fd, int level, int name, const char* who);

// Non-blocking connect of a fresh socket of `type` to `address`: waits for writability and
// reads SO_ERROR. Errors are std::system_error with the errno (ECONNREFUSED, ETIMEDOUT,
// ENETUNREACH, ...) and the address in what(). Cancellable; the socket is closed if the
// connect fails or is cancelled.
[[nodiscard]] WEFT_IO_API Task<AsyncFd> connect_socket(SocketAddress address, int type,
                                                       const char* who);

// A connected, full-duplex byte stream. One task may read while another writes; two
// concurrent readers (or writers) are a std::logic_error from AsyncFd.
class WEFT_IO_API StreamSocket {
 public:
  StreamSocket(AsyncFd fd, const char* who) noexcept : fd_(std::move(fd)), who_(who) {}

  // At least one byte (waiting if none), or 0 at end of stream.
  [[nodiscard]] Task<std::size_t> read_some(std::span<std::byte> buffer);
  // Fills the whole buffer; IncompleteReadError if the stream ends first.
  [[nodiscard]] Task<void> read_exact(std::span<std::byte> buffer);
  // Every byte, or std::system_error (EPIPE/ECONNRESET when the peer went away).
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> buffer);
  // The readiness level, for a reader that picks its buffer only once data is there (a server
  // reading into a per-thread scratch buffer keeps no buffer per idle connection):
  //   for (;;) { co_await s.wait_readable();
  //              if (auto n = s.try_read(scratch)) { ...*n bytes, 0 at end...; break; } }
  // wait_readable() returns at once while the last try_read() left data behind.
  class ReadableAwaiter;
  [[nodiscard]] ReadableAwaiter wait_readable() noexcept;
  // One non-blocking recv: the byte count (0 at end of stream), or std::nullopt when nothing
  // is there yet (wait_readable() again). Throws std::system_error like read_some.
  [[nodiscard]] std::optional<std::size_t> try_read(std::span<std::byte> buffer);
  // One non-blocking send, without waiting for (or consulting) the write readiness: the byte
  // count it took, 0 when the send buffer is full. Throws std::system_error like write_all
  // (EPIPE/ECONNRESET; never SIGPIPE). The common case of a response that fits the send buffer
  // then costs no coroutine frame; finish a short write with write_all, which waits. The
  // readiness is left as it was: at worst write_all's first send finds EAGAIN and clears it.
  [[nodiscard]] std::size_t try_write(std::span<const std::byte> buffer);
  // Sends `count` bytes of the open file `file_fd` from `offset` with sendfile(2) (no copy
  // through user space); std::system_error on errors, std::runtime_error if the file is
  // shorter than `count`. The file's pages are read by the kernel on this thread: fine for
  // files in the page cache, a stall for cold ones on a slow disk.
  [[nodiscard]] Task<void> send_file(int file_fd, std::uint64_t offset, std::uint64_t count);
  // Sends FIN: the peer reads end of stream; reading from this side still works.
  void shutdown_write();
  // Closes now (the destructor does too). No task may be waiting on the socket.
  void close() noexcept { fd_.close(); }

  [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
  [[nodiscard]] int native_handle() const noexcept { return fd_.fd(); }
  // The loop whose reactor watches this socket (see AsyncFd::home_loop).
  [[nodiscard]] unsigned home_loop() const noexcept { return fd_.home_loop(); }
  [[nodiscard]] SocketAddress local_address() const;
  [[nodiscard]] SocketAddress peer_address() const;
  // Hands the registered fd over (to a layer that drives its own syscalls on it, such as
  // weft::tls::TlsStream); this socket is closed afterwards.
  [[nodiscard]] AsyncFd into_fd() && noexcept { return std::move(fd_); }

 protected:
  AsyncFd fd_;
  const char* who_ = "weft::io::StreamSocket";
  Readiness read_seen_;  // what the last wait_readable() saw, for try_read's clear
};

// A bare awaiter rather than a Task: no frame per wait, and a task suspended in it holds only
// this (a per-request cost for servers, and per-idle-connection memory).
class StreamSocket::ReadableAwaiter {
 public:
  ReadableAwaiter(ReadinessAwaiter inner, Readiness* seen) noexcept : inner_(inner), seen_(seen) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> caller) { return inner_.await_suspend(caller); }
  void await_resume() { *seen_ = inner_.await_resume(); }

 private:
  ReadinessAwaiter inner_;
  Readiness* seen_;
};

inline StreamSocket::ReadableAwaiter StreamSocket::wait_readable() noexcept {
  return {fd_.readable(), &read_seen_};
}

struct ListenerStats {
  std::uint64_t accepted = 0;
  // accept() failed with EMFILE/ENFILE/ENOBUFS/ENOMEM and the listener slept before retrying.
  std::uint64_t resource_backoffs = 0;
};

// A listening socket. accept() retries what the kernel says to retry (ECONNABORTED, a
// connection that failed before we took it, EINTR) and, when the process or the system is
// out of fds or memory, sleeps 5 ms, doubling to 1 s, instead of spinning on a listener
// that stays readable; it resumes once an fd is free again (within the current back-off).
class WEFT_IO_API ListenerSocket {
 public:
  ListenerSocket(AsyncFd fd, const char* who,
                 ConnectionPlacement placement = ConnectionPlacement::least_loaded) noexcept
      : fd_(std::move(fd)), who_(who), placement_(placement) {}

  // The accepted connection, non-blocking and close-on-exec, registered on the loop the
  // placement picks.
  [[nodiscard]] Task<AsyncFd> accept_fd();

  void close() noexcept { fd_.close(); }
  [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
  [[nodiscard]] int native_handle() const noexcept { return fd_.fd(); }
  [[nodiscard]] unsigned home_loop() const noexcept { return fd_.home_loop(); }
  [[nodiscard]] SocketAddress local_address() const;
  // Written only by the task that accepts: read from that task, or after joining it.
  [[nodiscard]] const ListenerStats& stats() const noexcept { return stats_; }

 protected:
  AsyncFd fd_;
  const char* who_ = "weft::io::ListenerSocket";
  ConnectionPlacement placement_ = ConnectionPlacement::least_loaded;
  ListenerStats stats_;
};

// socket + SO_REUSEADDR/SO_REUSEPORT as asked + bind + listen, registered with the current
// loop. Throws std::system_error with the address in what().
// `home_loop`: the loop to register with (accepted connections follow); default the current.
[[nodiscard]] WEFT_IO_API AsyncFd listen_socket(const SocketAddress& address, int backlog,
                                                bool reuse_address, bool reuse_port,
                                                std::optional<unsigned> home_loop, const char* who);

}  // namespace detail
}  // namespace weft::io
