#pragma once

// A TLS client for the server tests that shares no code with weft::tls: a blocking socket
// driven by OpenSSL directly (SSL_connect, SSL_read, SSL_write), every wait bounded by
// SO_RCVTIMEO / SO_SNDTIMEO. So a bug in weft's TLS layer cannot hide on both sides of a test.
// It verifies the server's certificate against the CA it is given, for 127.0.0.1.

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <weft/io/socket_address.hpp>

namespace weft::test {

class BlockingTlsClient {
 public:
  // How reading ended.
  enum class End {
    data,          // bytes arrived
    close_notify,  // the server ended TLS in order
    eof,           // the socket ended without close_notify (a truncation)
    reset,         // ECONNRESET
    timeout,       // nothing within the bound
    tls_error,     // OpenSSL refused what arrived
  };

  // Connects and handshakes (throws std::runtime_error naming what failed). `alpn`: the
  // protocols offered, in the wire format's order.
  BlockingTlsClient(const io::SocketAddress& address, const std::string& ca_pem,
                    std::vector<std::string> alpn = {"http/1.1"},
                    std::chrono::milliseconds bound = std::chrono::seconds(20)) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_) fail("SSL_CTX_new");
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> ca(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!ca || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), ca.get()) != 1)
      fail("loading the CA");
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    std::string wire;
    for (const std::string& p : alpn) wire += static_cast<char>(p.size()) + p;
    if (!wire.empty() &&
        SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      fail("ALPN");

    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    set_bound(bound);
    if (::connect(fd_, address.native(), address.native_size()) != 0) fail("connect");
    ssl_.reset(SSL_new(ctx_.get()));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) fail("SSL_new");
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), "127.0.0.1") != 1)
      fail("the address to verify");
    if (SSL_connect(ssl_.get()) != 1) fail("handshake");
  }
  BlockingTlsClient(const BlockingTlsClient&) = delete;
  BlockingTlsClient& operator=(const BlockingTlsClient&) = delete;
  ~BlockingTlsClient() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  void write(std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      std::size_t n = 0;
      if (SSL_write_ex(ssl_.get(), bytes.data() + done, bytes.size() - done, &n) != 1)
        fail("write");
      done += n;
    }
  }

  // One SSL_read: appends to `out`, or says how the stream ended.
  End read_some(std::string& out) {
    char buffer[16 * 1024];
    std::size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read_ex(ssl_.get(), buffer, sizeof buffer, &n);
    if (r == 1) {
      out.append(buffer, n);
      return End::data;
    }
    const int err = SSL_get_error(ssl_.get(), r);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) return End::close_notify;
    if (err == SSL_ERROR_SYSCALL) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return End::timeout;
      if (errno == ECONNRESET) return End::reset;
      return End::eof;
    }
    if (err == SSL_ERROR_WANT_READ) return End::timeout;  // SO_RCVTIMEO ran out
    return End::tls_error;
  }

  // Reads until `enough(bytes so far)` or the stream ends; returns how it ended.
  template <class Enough>
  End read_until(std::string& out, Enough enough) {
    for (;;) {
      const End end = read_some(out);
      if (end != End::data) return end;
      if (enough(out)) return End::data;
    }
  }

  [[nodiscard]] std::string alpn_protocol() const {
    const unsigned char* data = nullptr;
    unsigned size = 0;
    SSL_get0_alpn_selected(ssl_.get(), &data, &size);
    return data != nullptr ? std::string(reinterpret_cast<const char*>(data), size) : "";
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  void set_bound(std::chrono::milliseconds bound) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(bound.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(bound.count() % 1000 * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  [[noreturn]] static void fail(const std::string& what) {
    std::string reason = what;
    if (const unsigned long e = ERR_get_error(); e != 0) {
      char text[256];
      ERR_error_string_n(e, text, sizeof text);
      reason += ": ";
      reason += text;
    }
    ERR_clear_error();
    throw std::runtime_error("BlockingTlsClient: " + reason);
  }

  struct CtxFree {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_ = -1;
};

}  // namespace weft::test
