#pragma once

/// @file
/// weft::tls::TlsStream: TLS over a connected TcpStream, with the stream's surface (read_some,
/// read_exact, write_all, shutdown, close).
///
///   auto tcp = co_await weft::io::TcpStream::connect(address);
///   auto tls = co_await weft::tls::TlsStream::connect(std::move(tcp), client_context,
///                                                     "example.org");
///   co_await tls.write_all(request);
///   std::size_t n = co_await tls.read_some(buffer);   // 0: the peer sent close_notify
///
/// OpenSSL runs non-blocking on the socket, and every WANT_READ / WANT_WRITE becomes a wait
/// on the loop's readiness, in either direction (a read may have to write, during a
/// renegotiation or a key update, and a write may have to read). Each wait is cancellable, so
/// every operation works under weft::wait_for. A client verifies the server's chain and name
/// (SNI and the host-name check for a DNS name, the IP SANs for an address) unless its context
/// says insecure_skip_verification.
///
/// One operation at a time: an SSL connection is one state machine, so a read and a write
/// from two tasks at once are a std::logic_error, not a data race. A task that needs to read
/// and write at the same time alternates, or uses one task for both.
///
/// A server that reads into a per-thread scratch buffer (so that an idle connection holds no
/// read buffer) uses the readiness level, as with io::TcpStream:
///
///   for (;;) { co_await tls.wait_readable();
///              if (auto n = tls.try_read(scratch)) { ...*n bytes, 0 at close_notify...; break; } }
///
/// OpenSSL keeps no plaintext between calls unless a record was larger than the buffer;
/// wait_readable() then returns at once.

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "weft/async_fd.hpp"
#include "weft/io/tcp_stream.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"
#include "weft/tls/context.hpp"
#include "weft/tls/tls_error.hpp"

namespace weft::tls {

/// A TLS connection over a TcpStream; see this file's description.
class WEFT_IO_API TlsStream {
 public:
  /// The handshake_timeout of connect() and accept() when none is given.
  static constexpr std::chrono::milliseconds kDefaultHandshakeTimeout{10'000};

  /// The client's handshake. `server_name`: a DNS name (sent as SNI and checked against the
  /// certificate) or an IP address (checked against its IP SANs). Throws CertificateError when
  /// verification fails, TlsError for other TLS failures, weft::TimeoutError when the
  /// handshake takes longer than `handshake_timeout` (0: no limit); the socket is closed in
  /// every case.
  [[nodiscard]] static Task<TlsStream> connect(
      io::TcpStream stream, Context context, std::string server_name,
      std::chrono::milliseconds handshake_timeout = kDefaultHandshakeTimeout);
  /// The server's handshake, with the same errors.
  [[nodiscard]] static Task<TlsStream> accept(
      io::TcpStream stream, Context context,
      std::chrono::milliseconds handshake_timeout = kDefaultHandshakeTimeout);

  /// The server's side in two steps, for a server whose own deadline bounds the handshake
  /// together with what follows (an HTTP server's header timeout): wrap the socket, then
  /// handshake(), which has no time limit of its own and is cancellable. Unlike accept(), a
  /// failed handshake leaves the socket open (the stream is unusable) until close() or the
  /// destructor, so the caller decides when its fd number is freed.
  [[nodiscard]] static TlsStream wrap_server(io::TcpStream stream, Context context);
  /// The handshake of a wrap_server() stream. Throws as accept(); cancellable.
  [[nodiscard]] Task<void> handshake();

  /// Takes over `other`'s connection; `other` is left closed.
  TlsStream(TlsStream&& other) noexcept;
  /// Destroys this stream's connection (as the destructor does) and takes over `other`'s.
  TlsStream& operator=(TlsStream&& other) noexcept;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  /// At least one byte of plaintext (waiting if none), or 0 once the peer sent close_notify.
  /// A peer that closes the socket without close_notify is a TlsError (a truncation).
  [[nodiscard]] Task<std::size_t> read_some(std::span<std::byte> buffer);
  /// Fills the buffer; weft::io::IncompleteReadError if the stream ends first.
  [[nodiscard]] Task<void> read_exact(std::span<std::byte> buffer);
  /// Every byte, in records of up to 16 KiB.
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> buffer);
  /// Sends close_notify (an orderly end of this side) and then FIN; the peer reads 0.
  /// Reading on may still return what the peer sends before its own close_notify.
  [[nodiscard]] Task<void> shutdown();

  /// The readiness level (see the top of this file). wait_readable() waits for what the last
  /// try_read() needed: the socket readable, or writable when OpenSSL had to send first (a
  /// TLS 1.3 key update's answer that met a full send buffer). It returns at once while
  /// plaintext is buffered. Cancellable.
  class ReadableAwaiter;
  /// Waits as described above.
  [[nodiscard]] ReadableAwaiter wait_readable();
  /// One non-blocking SSL_read: the plaintext byte count, 0 once the peer sent close_notify, or
  /// std::nullopt when a record has not arrived whole yet (wait_readable() again). Throws like
  /// read_some.
  [[nodiscard]] std::optional<std::size_t> try_read(std::span<std::byte> buffer);
  /// Non-blocking SSL_writes until the socket's buffer is full: the byte count taken, in whole
  /// records. A record only partly sent when the buffer filled is kept by OpenSSL; its bytes
  /// are the first of what the count leaves, and write_all() of that rest finishes it. So
  /// after a short try_write, the next write must start with those bytes. Throws like write_all.
  [[nodiscard]] std::size_t try_write(std::span<const std::byte> buffer);
  /// One non-blocking try at close_notify, then FIN, without waiting: for a server that stops
  /// talking (after refusing a request) but still reads for a while. Never throws.
  void shutdown_write() noexcept;
  /// Closes the socket now (the destructor does the same). A healthy connection first gets one
  /// non-blocking try at close_notify, which also keeps its session resumable; after a failed
  /// operation it is closed as it stands. To be sure the peer got close_notify, shutdown().
  void close() noexcept;

  /// False once closed.
  [[nodiscard]] bool is_open() const noexcept;
  /// The socket, for poll(2) or a MSG_PEEK: reading or writing it directly would break the
  /// TLS stream. -1 once closed.
  [[nodiscard]] int native_handle() const noexcept;
  /// The protocol ALPN selected ("" if none), the version ("TLSv1.3"), and whether the
  /// handshake resumed an earlier session.
  [[nodiscard]] std::string alpn_protocol() const;
  /// The TLS version, as OpenSSL names it ("TLSv1.3").
  [[nodiscard]] std::string protocol_version() const;
  /// True when the handshake resumed an earlier session.
  [[nodiscard]] bool session_resumed() const;

  struct State;  ///< the SSL connection and its socket (tls_stream.cpp)

 private:
  /// What wait_readable() needs from the state (which is private to tls_stream.cpp).
  struct ReadWait {
    ReadinessAwaiter inner;
    std::optional<Readiness>* seen;  ///< where the readiness it saw is kept, for the next clear
    bool ready_now;                  ///< plaintext is buffered: no wait
  };
  explicit TlsStream(std::unique_ptr<State> state) noexcept;
  State& checked(const char* what) const;
  std::unique_ptr<State> state_;
};

/// A bare awaiter, as io::TcpStream's: no frame per wait.
class TlsStream::ReadableAwaiter {
 public:
  /// Waits as `wait` describes.
  explicit ReadableAwaiter(ReadWait wait) noexcept : wait_(wait) {}
  /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
  bool await_ready() noexcept { return wait_.ready_now || wait_.inner.await_ready(); }
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  bool await_suspend(std::coroutine_handle<> caller) { return wait_.inner.await_suspend(caller); }
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  void await_resume() {
    if (!wait_.ready_now) *wait_.seen = wait_.inner.await_resume();
  }

 private:
  ReadWait wait_;
};

}  // namespace weft::tls
