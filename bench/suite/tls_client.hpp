#pragma once

// TLS for the load generator's connections (the io/https_hello scenario): OpenSSL over a
// connected non-blocking socket, with send/recv-like calls so the generator's event loop
// treats a TLS connection as it treats a plain one. No weft code: the client must not share
// the TLS layer it measures.
//
// The server's certificate is not verified: the scenario's servers run on loopback with a
// certificate made for the run, and verification would cost the client, not the server.

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace weft::bench {

// One SSL_CTX for every connection of a generator (TLS 1.2 or later, ALPN http/1.1).
class TlsClientContext {
 public:
  TlsClientContext();  // throws std::runtime_error with OpenSSL's reason
  [[nodiscard]] ssl_ctx_st* get() const noexcept { return ctx_.get(); }

 private:
  struct Free {
    void operator()(ssl_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<ssl_ctx_st, Free> ctx_;
};

class TlsConnection {
 public:
  // Handshakes over `fd` (connected, non-blocking; not owned), waiting with poll(2) for at
  // most 10 s. Throws std::runtime_error naming what failed.
  TlsConnection(const TlsClientContext& context, int fd);

  // As send(2) and recv(2): a byte count (recv: 0 once the server ended the connection, with
  // or without close_notify), or -1 with errno EAGAIN (the socket must be ready first: recv
  // waits for readable, send for writable) or EPROTO (error() says why).
  ssize_t send(const char* data, std::size_t size);
  ssize_t recv(char* data, std::size_t size);
  // Decrypted bytes OpenSSL holds that the socket's readiness no longer shows.
  [[nodiscard]] bool pending() const noexcept;
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  struct Free {
    void operator()(ssl_st* ssl) const noexcept;
  };
  ssize_t failed(int ssl_error);
  std::unique_ptr<ssl_st, Free> ssl_;
  std::string error_;
};

}  // namespace weft::bench
