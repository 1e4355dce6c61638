#include "weft/tls/tls_stream.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "tls/openssl_error.hpp"
#include "weft/async_fd.hpp"
#include "weft/io/detail/socket.hpp"
#include "weft/wait_for.hpp"

namespace weft::tls {

// Why a BIO of our own rather than SSL_set_fd: OpenSSL's socket BIO writes with write(2),
// which raises SIGPIPE at a peer that is gone; send(2) with MSG_NOSIGNAL does not. And it
// keeps the errno of a failed call, which OpenSSL's later calls may overwrite.
struct TlsStream::State {
  State(AsyncFd socket, Context ctx, std::string peer_name)
      : fd(std::move(socket)), context(std::move(ctx)), peer(std::move(peer_name)) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    close();
    if (ssl != nullptr) SSL_free(ssl);  // frees the BIO too
  }

  // Closes the socket, after a close_notify if the connection is healthy: one non-blocking
  // try, never a wait. Besides telling the peer this is an orderly end, it keeps the session
  // resumable: OpenSSL marks the session of a connection freed without one as bad.
  void close() noexcept {
    if (!fd.valid()) return;
    try_close_notify();
    fd.close();
  }

  // One non-blocking SSL_shutdown if the connection is healthy and idle; never waits, never
  // throws (close() and shutdown_write()).
  void try_close_notify() noexcept {
    // Acquire pairs with OneAtATime's release: the last operation's changes to the SSL are
    // seen here. An operation in progress (busy) is left alone rather than raced.
    if (ssl == nullptr || !established || broken || busy.load(std::memory_order_acquire) ||
        (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0)
      return;
    ERR_clear_error();
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
  }

  AsyncFd fd;
  Context context;
  std::string peer;         // for messages: the server name, or the client's address
  std::string session_key;  // a client's: server name and address (prepare_resumption)
  SSL* ssl = nullptr;
  int last_errno = 0;        // of the BIO's last failed recv/send
  bool established = false;  // the handshake completed
  bool broken = false;       // an operation failed: no close_notify, no resumption
  // What the last readiness waits saw, for clearing after the next EAGAIN (see wait_io).
  std::optional<Readiness> read_seen;
  std::optional<Readiness> write_seen;
  // The last try_read met WANT_WRITE: wait_readable() waits for the socket to be writable.
  bool read_wants_write = false;
  // The last try_read met WANT_READ: what OpenSSL holds (if anything) is part of a record, and
  // only the socket can complete it.
  bool read_wants_socket = false;
  std::atomic<bool> busy{false};
};

namespace {

using State = TlsStream::State;

int bio_write(BIO* bio, const char* data, int size) {
  auto* state = static_cast<State*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n =
      ::send(state->fd.fd(), data, static_cast<std::size_t>(size), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return static_cast<int>(n);
  state->last_errno = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

int bio_read(BIO* bio, char* data, int size) {
  auto* state = static_cast<State*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(state->fd.fd(), data, static_cast<std::size_t>(size), MSG_DONTWAIT);
  // With read-ahead (context.cpp) OpenSSL asks for all its buffer holds: a shorter answer
  // drained the socket, so its readiness is cleared now (unless a newer edge came) rather than
  // after the EAGAIN of one more recv, as io::StreamSocket does for a short read. A keep-alive
  // request then costs one recv.
  if (n > 0 && n < size && state->read_seen) state->fd.clear_readable(*state->read_seen);
  if (n >= 0) return static_cast<int>(n);  // 0: the peer closed the socket
  state->last_errno = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

long bio_ctrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  // Built once, thread-safely (a function-local static), and never freed: the process's
  // connections share it.
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft socket");
    if (m == nullptr || BIO_meth_set_write(m, &bio_write) != 1 ||
        BIO_meth_set_read(m, &bio_read) != 1 || BIO_meth_set_ctrl(m, &bio_ctrl) != 1 ||
        BIO_meth_set_create(m, &bio_create) != 1)
      detail::throw_openssl_error("weft::tls: BIO_meth_new");
    return m;
  }();
  return method;
}

// Marks the connection busy for one operation: a second one at the same time is a misuse.
class OneAtATime {
 public:
  OneAtATime(State& state, const char* what) : state_(state) {
    // acquire/release: the next operation, maybe on another thread, sees this one's writes.
    if (state_.busy.exchange(true, std::memory_order_acquire))
      throw std::logic_error(std::string("weft::tls::TlsStream::") + what +
                             ": another operation on this stream is in progress");
  }
  OneAtATime(const OneAtATime&) = delete;
  OneAtATime& operator=(const OneAtATime&) = delete;
  ~OneAtATime() { state_.busy.store(false, std::memory_order_release); }

 private:
  State& state_;
};

// After WANT_READ / WANT_WRITE: the recv or send under it met EAGAIN. Forget the readiness
// the previous wait in that direction saw (unless a newer edge came), then wait for the next.
// The first WANT of a direction may find a stale readiness and return at once; the retry's
// EAGAIN then clears it. So at most one extra attempt, never a missed edge.
Task<void> wait_io(State& state, int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) {
    if (state.read_seen) state.fd.clear_readable(*state.read_seen);
    state.read_seen = co_await state.fd.readable();
  } else {
    if (state.write_seen) state.fd.clear_writable(*state.write_seen);
    state.write_seen = co_await state.fd.writable();
  }
}

// try_read's half of wait_io: forget the readiness that led to the EAGAIN now, and remember
// which direction wait_readable() has to wait for.
void note_would_block(State& state, int ssl_error) {
  std::optional<Readiness>& seen =
      ssl_error == SSL_ERROR_WANT_READ ? state.read_seen : state.write_seen;
  if (seen) {
    if (ssl_error == SSL_ERROR_WANT_READ) {
      state.fd.clear_readable(*seen);
    } else {
      state.fd.clear_writable(*seen);
    }
    seen.reset();
  }
  state.read_wants_write = ssl_error == SSL_ERROR_WANT_WRITE;
  state.read_wants_socket = ssl_error == SSL_ERROR_WANT_READ;
}

bool wants_io(int ssl_error) {
  return ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE;
}

// The exception for a failed SSL call whose SSL_get_error was `ssl_error`.
[[noreturn]] void throw_failure(State& state, int ssl_error, const char* what) {
  state.broken = true;
  const std::string where = std::string("weft::tls: ") + what + " with " + state.peer;
  if (ssl_error == SSL_ERROR_SYSCALL) {
    std::string queued = detail::take_openssl_error();
    if (state.last_errno != 0)
      throw std::system_error(state.last_errno, std::system_category(), where);
    throw TlsError(where,
                   queued.empty() ? "the peer closed the connection without close_notify" : queued);
  }
  const std::string reason = detail::take_openssl_error();
  throw TlsError(where, reason.empty() ? "TLS failure" : reason);
}

Task<void> run_handshake(State& state) {
  for (;;) {
    ERR_clear_error();
    state.last_errno = 0;
    const int r = SSL_do_handshake(state.ssl);
    if (r == 1) {
      state.established = true;
      co_return;
    }
    const int err = SSL_get_error(state.ssl, r);
    if (wants_io(err)) {
      co_await wait_io(state, err);
      continue;
    }
    const long verify = SSL_get_verify_result(state.ssl);
    if (state.context.verifies_peer() && !state.context.is_server() && verify != X509_V_OK) {
      ERR_clear_error();
      state.broken = true;
      throw CertificateError(verify, X509_verify_cert_error_string(verify), state.peer);
    }
    throw_failure(state, err, "handshake");
  }
}

Task<void> handshake_within(State& state, std::chrono::milliseconds limit) {
  if (limit.count() <= 0) {
    co_await run_handshake(state);
  } else {
    co_await weft::wait_for(run_handshake(state), limit);
  }
}

bool is_ip_address(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::unique_ptr<State> new_connection(io::TcpStream stream, Context context, std::string peer) {
  auto state =
      std::make_unique<State>(std::move(stream).into_fd(), std::move(context), std::move(peer));
  state->ssl = SSL_new(state->context.native_handle());
  if (state->ssl == nullptr) detail::throw_openssl_error("weft::tls: SSL_new");
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) detail::throw_openssl_error("weft::tls: BIO_new");
  BIO_set_data(bio, state.get());
  SSL_set_bio(state->ssl, bio, bio);  // one BIO both ways: SSL takes its one reference
  return state;
}

}  // namespace

TlsStream::TlsStream(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
TlsStream::TlsStream(TlsStream&& other) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&& other) noexcept = default;
TlsStream::~TlsStream() = default;

Task<TlsStream> TlsStream::connect(io::TcpStream stream, Context context, std::string server_name,
                                   std::chrono::milliseconds handshake_timeout) {
  if (context.is_server())
    throw std::invalid_argument("weft::tls::TlsStream::connect: a server context");
  if (server_name.empty())
    throw std::invalid_argument("weft::tls::TlsStream::connect: no server name");
  std::unique_ptr<State> state = new_connection(std::move(stream), std::move(context), server_name);
  SSL* ssl = state->ssl;
  SSL_set_connect_state(ssl);
  try {
    state->session_key =
        server_name + "|" + io::detail::peer_address_of(state->fd.fd()).to_string();
  } catch (const std::exception&) {
    // No peer address (already reset): no resumption; the handshake will report the error.
  }
  tls::detail::prepare_resumption(state->context, ssl, state->session_key);
  const bool ip = is_ip_address(server_name);
  // SNI carries host names only (RFC 6066).
  if (!ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1)
    detail::throw_openssl_error("weft::tls: setting SNI " + server_name);
  if (state->context.verifies_peer()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                      : SSL_set1_host(ssl, server_name.c_str());
    if (ok != 1) detail::throw_openssl_error("weft::tls: setting the name to verify");
  }
  co_await handshake_within(*state, handshake_timeout);
  co_return TlsStream(std::move(state));
}

TlsStream TlsStream::wrap_server(io::TcpStream stream, Context context) {
  if (!context.is_server())
    throw std::invalid_argument("weft::tls::TlsStream: accepting with a client context");
  std::string peer = "client";
  try {
    peer = "client " + stream.peer_address().to_string();
  } catch (const std::exception&) {
    // Already reset by the peer: the handshake will say so.
  }
  std::unique_ptr<State> state = new_connection(std::move(stream), std::move(context), peer);
  SSL_set_accept_state(state->ssl);
  return TlsStream(std::move(state));
}

Task<void> TlsStream::handshake() {
  State& state = checked("handshake");
  const OneAtATime guard(state, "handshake");
  if (!state.established) co_await run_handshake(state);
}

Task<TlsStream> TlsStream::accept(io::TcpStream stream, Context context,
                                  std::chrono::milliseconds handshake_timeout) {
  TlsStream tls = wrap_server(std::move(stream), std::move(context));
  co_await handshake_within(*tls.state_, handshake_timeout);
  co_return tls;
}

TlsStream::State& TlsStream::checked(const char* what) const {
  if (!state_ || !state_->fd.valid())
    throw std::logic_error(std::string("weft::tls::TlsStream::") + what + ": the stream is closed");
  return *state_;
}

Task<std::size_t> TlsStream::read_some(std::span<std::byte> buffer) {
  State& state = checked("read_some");
  const OneAtATime guard(state, "read_some");
  if (buffer.empty()) co_return 0;
  for (;;) {
    ERR_clear_error();
    state.last_errno = 0;
    std::size_t n = 0;
    const int r = SSL_read_ex(state.ssl, buffer.data(), buffer.size(), &n);
    if (r == 1) co_return n;
    const int err = SSL_get_error(state.ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN) co_return 0;  // close_notify
    if (!wants_io(err)) throw_failure(state, err, "read");
    co_await wait_io(state, err);
  }
}

TlsStream::ReadableAwaiter TlsStream::wait_readable() {
  State& state = checked("wait_readable");
  if (state.read_wants_write)
    return ReadableAwaiter({state.fd.writable(), &state.write_seen, false});
  // Plaintext, or (read-ahead) whole records OpenSSL read with an earlier one, are not in the
  // socket's readiness any more: ready now. Bytes of a record not yet complete are, after a
  // WANT_READ, waited for like any other.
  const bool buffered =
      SSL_pending(state.ssl) > 0 || (!state.read_wants_socket && SSL_has_pending(state.ssl) == 1);
  return ReadableAwaiter({state.fd.readable(), &state.read_seen, buffered});
}

std::optional<std::size_t> TlsStream::try_read(std::span<std::byte> buffer) {
  State& state = checked("try_read");
  const OneAtATime guard(state, "try_read");
  if (buffer.empty()) return 0;
  ERR_clear_error();
  state.last_errno = 0;
  std::size_t n = 0;
  const int r = SSL_read_ex(state.ssl, buffer.data(), buffer.size(), &n);
  if (r == 1) {
    state.read_wants_write = false;
    state.read_wants_socket = false;
    return n;
  }
  const int err = SSL_get_error(state.ssl, r);
  if (err == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
  if (!wants_io(err)) throw_failure(state, err, "read");
  note_would_block(state, err);
  return std::nullopt;
}

std::size_t TlsStream::try_write(std::span<const std::byte> buffer) {
  State& state = checked("try_write");
  const OneAtATime guard(state, "try_write");
  std::size_t taken = 0;
  while (taken < buffer.size()) {
    ERR_clear_error();
    state.last_errno = 0;
    std::size_t n = 0;
    // Partial writes (see context.cpp): each call returns once a record or more is out.
    const int r = SSL_write_ex(state.ssl, buffer.data() + taken, buffer.size() - taken, &n);
    if (r == 1) {
      taken += n;
      continue;
    }
    const int err = SSL_get_error(state.ssl, r);
    if (!wants_io(err)) throw_failure(state, err, "write");
    // The socket is full (or, in TLS 1.2, OpenSSL must read first): write_all waits for it,
    // and its first SSL_write clears the stale readiness (see wait_io).
    break;
  }
  return taken;
}

void TlsStream::shutdown_write() noexcept {
  if (!state_ || !state_->fd.valid()) return;
  State& state = *state_;
  state.try_close_notify();
  ::shutdown(state.fd.fd(), SHUT_WR);
}

Task<void> TlsStream::read_exact(std::span<std::byte> buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    const std::size_t n = co_await read_some(buffer.subspan(got));
    if (n == 0) throw io::IncompleteReadError(got, buffer.size());
    got += n;
  }
}

Task<void> TlsStream::write_all(std::span<const std::byte> buffer) {
  State& state = checked("write_all");
  const OneAtATime guard(state, "write_all");
  while (!buffer.empty()) {
    ERR_clear_error();
    state.last_errno = 0;
    std::size_t n = 0;
    const int r = SSL_write_ex(state.ssl, buffer.data(), buffer.size(), &n);
    if (r == 1) {
      buffer = buffer.subspan(n);
      continue;
    }
    const int err = SSL_get_error(state.ssl, r);
    if (!wants_io(err)) throw_failure(state, err, "write");
    co_await wait_io(state, err);
  }
}

Task<void> TlsStream::shutdown() {
  State& state = checked("shutdown");
  const OneAtATime guard(state, "shutdown");
  for (;;) {
    ERR_clear_error();
    state.last_errno = 0;
    // 0: our close_notify is out and the peer's has not come (we do not wait for it);
    // 1: both are done.
    const int r = SSL_shutdown(state.ssl);
    if (r >= 0) break;
    const int err = SSL_get_error(state.ssl, r);
    if (!wants_io(err)) throw_failure(state, err, "shutdown");
    co_await wait_io(state, err);
  }
  ::shutdown(state.fd.fd(), SHUT_WR);
}

void TlsStream::close() noexcept {
  if (state_) state_->close();
}

bool TlsStream::is_open() const noexcept { return state_ && state_->fd.valid(); }

int TlsStream::native_handle() const noexcept { return state_ ? state_->fd.fd() : -1; }

std::string TlsStream::alpn_protocol() const {
  const State& state = checked("alpn_protocol");
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(state.ssl, &data, &size);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), size) : std::string();
}

std::string TlsStream::protocol_version() const {
  return SSL_get_version(checked("protocol_version").ssl);
}

bool TlsStream::session_resumed() const {
  return SSL_session_reused(checked("session_resumed").ssl) == 1;
}

}  // namespace weft::tls
