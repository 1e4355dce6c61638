#include "weft/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tls/openssl_error.hpp"
#include "weft/tls/tls_error.hpp"

namespace weft::tls {

struct Context::Shared {
  Shared(SSL_CTX* c, bool server, bool verify) : ctx(c), is_server(server), verifies(verify) {}
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  ~Shared() { SSL_CTX_free(ctx); }

  // Sessions are kept serialized (i2d_SSL_SESSION), and each connection that resumes one gets
  // its own copy (d2i): no SSL_SESSION is shared between connections, so none is touched by
  // two loops' threads at once. A shared one would be, inside OpenSSL (a TLS 1.3 client copies
  // its session when a ticket arrives while another connection drops the last reference), and
  // OpenSSL's reference counts are invisible to ThreadSanitizer. A few microseconds per
  // resumption, against a handshake's milliseconds.
  void store_session(const std::string& key, std::string serialized) {
    const std::lock_guard lock(sessions_mutex);
    auto it = sessions.find(key);
    if (it != sessions.end()) {
      it->second = std::move(serialized);
      return;
    }
    if (sessions.size() >= kMaxSessions) sessions.erase(sessions.begin());  // bounded: any
    sessions.emplace(key, std::move(serialized));
  }
  // A session of its own for `key` (the caller frees it), or nullptr.
  SSL_SESSION* find_session(const std::string& key) {
    std::string serialized;
    {
      const std::lock_guard lock(sessions_mutex);
      auto it = sessions.find(key);
      if (it == sessions.end()) return nullptr;
      serialized = it->second;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(serialized.data());
    return d2i_SSL_SESSION(nullptr, &data, static_cast<long>(serialized.size()));
  }

  static constexpr std::size_t kMaxSessions = 1024;

  SSL_CTX* const ctx;
  const bool is_server;
  const bool verifies;
  // The server's ALPN list in wire format (length-prefixed names), for the select callback.
  std::vector<unsigned char> alpn_wire;
  // A client's sessions to resume, by server name and address (see prepare_resumption). Any
  // loop's connection may store one (the callback runs inside SSL_read), hence the mutex.
  std::mutex sessions_mutex;
  std::unordered_map<std::string, std::string> sessions;
};

namespace {

using detail::throw_openssl_error;

std::vector<unsigned char> alpn_wire_format(const std::vector<std::string>& names) {
  std::vector<unsigned char> wire;
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 255)
      throw TlsError("weft::tls: an ALPN protocol name must have 1 to 255 bytes");
    wire.push_back(static_cast<unsigned char>(name.size()));
    wire.insert(wire.end(), name.begin(), name.end());
  }
  return wire;
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
BioPtr memory_bio(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) throw_openssl_error("weft::tls: BIO_new_mem_buf");
  return bio;
}

std::shared_ptr<Context::Shared> new_context(const SSL_METHOD* method, bool server, bool verify) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) throw_openssl_error("weft::tls: SSL_CTX_new");
  auto shared = std::make_shared<Context::Shared>(ctx, server, verify);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    throw_openssl_error("weft::tls: SSL_CTX_set_min_proto_version");
  // Partial writes: a non-blocking SSL_write may take part of a large buffer; the moving
  // buffer lets the retry after WANT_WRITE pass the rest from where it stands.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read-ahead: one recv takes whatever the socket holds (up to OpenSSL's buffer) instead of
  // a record's 5-byte header and then its body, and a short answer tells the stream that the
  // socket is drained (tls_stream.cpp). A small request costs one recv instead of three.
  SSL_CTX_set_read_ahead(ctx, 1);
  return shared;
}

void load_trust(SSL_CTX* ctx, const ClientOptions& o) {
  if (o.ca_file.empty() && o.ca_dir.empty() && o.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      throw_openssl_error("weft::tls: loading the system trust store");
    return;
  }
  if (!o.ca_file.empty() || !o.ca_dir.empty()) {
    const char* file = o.ca_file.empty() ? nullptr : o.ca_file.c_str();
    const char* dir = o.ca_dir.empty() ? nullptr : o.ca_dir.c_str();
    if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1)
      throw_openssl_error("weft::tls: loading CA certificates from " +
                          (o.ca_file.empty() ? o.ca_dir : o.ca_file));
  }
  if (!o.ca_pem.empty()) {
    BioPtr bio = memory_bio(o.ca_pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int loaded = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      const int ok = X509_STORE_add_cert(store, cert);
      X509_free(cert);
      if (ok != 1) throw_openssl_error("weft::tls: adding a CA certificate");
      ++loaded;
    }
    ERR_clear_error();  // the end of the PEM text reads as an error
    if (loaded == 0) throw TlsError("weft::tls: ca_pem holds no PEM certificate");
  }
}

void load_identity(SSL_CTX* ctx, const ServerOptions& o) {
  if (!o.cert_chain_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_chain_file.c_str()) != 1)
      throw_openssl_error("weft::tls: loading the certificate chain " + o.cert_chain_file);
  } else if (!o.cert_chain_pem.empty()) {
    BioPtr bio = memory_bio(o.cert_chain_pem);
    X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (leaf == nullptr)
      throw_openssl_error("weft::tls: reading the certificate of cert_chain_pem");
    const int ok = SSL_CTX_use_certificate(ctx, leaf);
    X509_free(leaf);
    if (ok != 1) throw_openssl_error("weft::tls: using the certificate of cert_chain_pem");
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      // add0: the context takes the reference on success.
      if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
        X509_free(extra);
        throw_openssl_error("weft::tls: adding a chain certificate of cert_chain_pem");
      }
    }
    ERR_clear_error();
  } else {
    throw TlsError("weft::tls: a server needs cert_chain_file or cert_chain_pem");
  }
  if (!o.key_file.empty()) {
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw_openssl_error("weft::tls: loading the private key " + o.key_file);
  } else if (!o.key_pem.empty()) {
    BioPtr bio = memory_bio(o.key_pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) throw_openssl_error("weft::tls: reading key_pem");
    const int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) throw_openssl_error("weft::tls: using key_pem");
  } else {
    throw TlsError("weft::tls: a server needs key_file or key_pem");
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw_openssl_error("weft::tls: the private key does not match the certificate");
}

// The server's ALPN choice: its own most preferred protocol that the client offers.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len,
                const unsigned char* in, unsigned int in_len, void* arg) {
  const auto* shared = static_cast<const Context::Shared*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, shared->alpn_wire.data(),
                            static_cast<unsigned>(shared->alpn_wire.size()), in,
                            in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// OpenSSL hands a client every new session it may resume (with TLS 1.3 after the handshake,
// from the server's NewSessionTicket, inside SSL_read): keep it under the connection's key.
int keep_new_session(SSL* ssl, SSL_SESSION* session) {
  const auto* key = static_cast<const std::string*>(SSL_get_app_data(ssl));
  auto* shared = static_cast<Context::Shared*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (key == nullptr || key->empty() || shared == nullptr) return 0;
  const int size = i2d_SSL_SESSION(session, nullptr);
  if (size <= 0) return 0;
  std::string serialized(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(serialized.data());
  if (i2d_SSL_SESSION(session, &out) != size) return 0;
  shared->store_session(*key, std::move(serialized));
  return 0;  // OpenSSL keeps its reference: we kept a copy
}

}  // namespace

namespace detail {

void prepare_resumption(const Context& context, SSL* ssl, const std::string& key) {
  // The key outlives the SSL: it is a member of the stream's state, which frees the SSL first.
  SSL_set_app_data(ssl, const_cast<std::string*>(&key));
  if (SSL_SESSION* session = context.shared_->find_session(key)) {
    SSL_set_session(ssl, session);  // takes its own reference
    SSL_SESSION_free(session);
  }
  ERR_clear_error();  // a stored session that no longer parses is just not resumed
}

}  // namespace detail

Context Context::client(const ClientOptions& options) {
  auto shared = new_context(TLS_client_method(), false, !options.insecure_skip_verification);
  SSL_CTX* ctx = shared->ctx;
  // Sessions go to our own cache, keyed by server name and address (OpenSSL's internal
  // client cache is keyed by nothing a client can look up).
  SSL_CTX_set_app_data(ctx, shared.get());
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &keep_new_session);
  if (options.insecure_skip_verification) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    load_trust(ctx, options);
  }
  if (!options.alpn.empty()) {
    const std::vector<unsigned char> wire = alpn_wire_format(options.alpn);
    // Returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(ctx, wire.data(), static_cast<unsigned>(wire.size())) != 0)
      throw_openssl_error("weft::tls: SSL_CTX_set_alpn_protos");
  }
  return Context(std::move(shared));
}

Context Context::server(const ServerOptions& options) {
  auto shared = new_context(TLS_server_method(), true, false);
  load_identity(shared->ctx, options);
  // Resumption by session tickets only (stateless: the session travels in the ticket), so no
  // server-side cache: OpenSSL's internal one would keep every full handshake's session, up
  // to 20,480, under a lock taken by every handshake on every loop.
  SSL_CTX_set_session_cache_mode(shared->ctx, SSL_SESS_CACHE_OFF);
  if (!options.alpn.empty()) {
    shared->alpn_wire = alpn_wire_format(options.alpn);
    SSL_CTX_set_alpn_select_cb(shared->ctx, &select_alpn, shared.get());
  }
  return Context(std::move(shared));
}

bool Context::is_server() const noexcept { return shared_->is_server; }
bool Context::verifies_peer() const noexcept { return shared_->verifies; }
ssl_ctx_st* Context::native_handle() const noexcept { return shared_->ctx; }

}  // namespace weft::tls
