#include "tls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

namespace weft::bench {

namespace {

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

void TlsClientContext::Free::operator()(ssl_ctx_st* ctx) const noexcept { SSL_CTX_free(ctx); }
void TlsConnection::Free::operator()(ssl_st* ssl) const noexcept { SSL_free(ssl); }

TlsClientContext::TlsClientContext() : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!ctx_) throw std::runtime_error("load: SSL_CTX_new: " + openssl_reason());
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
  // Partial writes and a moving buffer: a request cut by a full send buffer is finished from
  // where it stands, as over TCP.
  SSL_CTX_set_mode(ctx_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static constexpr unsigned char kAlpn[] = "\x08http/1.1";
  if (SSL_CTX_set_alpn_protos(ctx_.get(), kAlpn, sizeof kAlpn - 1) != 0)
    throw std::runtime_error("load: ALPN: " + openssl_reason());
}

TlsConnection::TlsConnection(const TlsClientContext& context, int fd)
    : ssl_(SSL_new(context.get())) {
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd) != 1)
    throw std::runtime_error("load: SSL_new: " + openssl_reason());
  SSL_set_connect_state(ssl_.get());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return;
    const int err = SSL_get_error(ssl_.get(), r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
      throw std::runtime_error("load: TLS handshake: " + openssl_reason());
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)
      throw std::runtime_error("load: TLS handshake: no answer within 10 s");
  }
}

ssize_t TlsConnection::failed(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  error_ = openssl_reason();
  errno = EPROTO;
  return -1;
}

ssize_t TlsConnection::send(const char* data, std::size_t size) {
  ERR_clear_error();
  std::size_t n = 0;
  const int r = SSL_write_ex(ssl_.get(), data, size, &n);
  if (r == 1) return static_cast<ssize_t>(n);
  return failed(SSL_get_error(ssl_.get(), r));
}

ssize_t TlsConnection::recv(char* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int r = SSL_read_ex(ssl_.get(), data, size, &n);
  if (r == 1) return static_cast<ssize_t>(n);
  const int err = SSL_get_error(ssl_.get(), r);
  // close_notify, or the socket's end without one (OpenSSL 3 reports that as SSL_ERROR_SSL
  // "unexpected eof"): either way the server ended the connection.
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err == SSL_ERROR_SYSCALL && errno == 0) return 0;
  if (err == SSL_ERROR_SSL &&
      ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return 0;
  }
  return failed(err);
}

bool TlsConnection::pending() const noexcept { return SSL_pending(ssl_.get()) > 0; }

}  // namespace weft::bench
