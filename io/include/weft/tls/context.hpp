#pragma once

/// @file
/// weft::tls::Context: the configuration of TLS connections (OpenSSL 3's SSL_CTX), built once
/// and shared by every connection on every loop. Copies share one context.
///
///   auto client = weft::tls::Context::client();   // the system's trust store, verification on
///   auto server = weft::tls::Context::server({.cert_chain_file = "chain.pem",
///                                             .key_file = "key.pem"});
///
/// Both sides: TLS 1.2 at least, TLS 1.3 preferred, OpenSSL's default cipher policy, and
/// SSL_MODE_RELEASE_BUFFERS (an idle connection holds no record buffers). A server issues
/// session tickets; a client context keeps the latest session per server name and address
/// (up to 1,024) and offers it on the next connection there, which then resumes without the
/// certificate exchange (TlsStream::session_resumed()).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weft/io_export.hpp"

struct ssl_ctx_st;
struct ssl_st;

/// TLS over weft::io::TcpStream, with OpenSSL: contexts, streams and their errors.
namespace weft::tls {

class Context;
namespace detail {
// For TlsStream::connect: offers the session the context keeps for `key` (server name and
// address) and has a new one kept under it. `key` must outlive the connection.
WEFT_IO_API void prepare_resumption(const Context& context, ssl_st* ssl, const std::string& key);
}  // namespace detail

/// The trust and the ALPN offer of a client Context.
struct ClientOptions {
  /// Trust. All empty: the system store (OpenSSL's default paths, which honour the
  /// SSL_CERT_FILE and SSL_CERT_DIR environment variables). Otherwise exactly these CAs.
  std::string ca_file{};
  /// A directory of CA certificates, in OpenSSL's hashed layout.
  std::string ca_dir{};
  std::string ca_pem{};  ///< PEM text of one or more CA certificates
  /// Accepts any certificate and any host name: the connection is encrypted but anyone on
  /// the path can read it. For tests against a throwaway certificate, never for real peers.
  bool insecure_skip_verification = false;
  /// ALPN protocols to offer, most preferred first ("h2", "http/1.1"); empty offers none.
  std::vector<std::string> alpn{};
};

/// The certificate, the key and the ALPN protocols of a server Context.
struct ServerOptions {
  /// The certificate chain (leaf first) and its private key: PEM files, or PEM text.
  std::string cert_chain_file{};
  /// The private key's PEM file.
  std::string key_file{};
  /// The certificate chain as PEM text, instead of cert_chain_file.
  std::string cert_chain_pem{};
  /// The private key as PEM text, instead of key_file.
  std::string key_pem{};
  /// ALPN protocols this server speaks, most preferred first; a client offering none of them
  /// gets no protocol selected (and the handshake goes on).
  std::vector<std::string> alpn{};
};

/// A TLS configuration (an OpenSSL SSL_CTX), shared by the connections made with it.
class WEFT_IO_API Context {
 public:
  /// Throw TlsError naming what could not be loaded (a missing file, a key that does not
  /// match the certificate, an empty ALPN name).
  [[nodiscard]] static Context client(const ClientOptions& options = {});
  /// A server context; throws TlsError as client() does.
  [[nodiscard]] static Context server(const ServerOptions& options);

  /// True for a context made by server().
  [[nodiscard]] bool is_server() const noexcept;
  /// False only for a client built with insecure_skip_verification.
  [[nodiscard]] bool verifies_peer() const noexcept;
  /// The SSL_CTX, for settings this type does not offer. Change it before the first
  /// connection only: OpenSSL does not lock a context's settings against its connections.
  [[nodiscard]] ssl_ctx_st* native_handle() const noexcept;

  struct Shared;  ///< the SSL_CTX and what its callbacks need (context.cpp)

 private:
  friend void detail::prepare_resumption(const Context&, ssl_st*, const std::string&);
  explicit Context(std::shared_ptr<Shared> shared) noexcept : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace weft::tls
