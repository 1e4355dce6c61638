#pragma once

// A weft::http::Server listening with TLS for the tests of the server over TLS: one CA for the
// test program, server options carrying a leaf it issued, and TlsServed (the shared routes on a
// TLS port, and a plain one too when asked).

#include <string>
#include <utility>
#include <weft/http/server.hpp>
#include <weft/tls/context.hpp>

#include "http_server_test_support.hpp"
#include "test_certs.hpp"

namespace weft::test::http {

// One CA for the test program: the server's leaf is issued for 127.0.0.1.
inline const weft::test::TestCa& ca() {
  static const weft::test::TestCa authority;
  return authority;
}

inline weft::http::ServerOptions tls_options(weft::http::ServerOptions o = {}) {
  const weft::test::KeyAndCert leaf = ca().issue();
  o.tls = weft::tls::Context::server(
      {.cert_chain_pem = leaf.cert_pem, .key_pem = leaf.key_pem, .alpn = {"http/1.1"}});
  return o;
}

// A server with the shared routes, listening with TLS (and plain too when `plain`).
struct TlsServed {
  explicit TlsServed(weft::http::ServerOptions options = {}, bool plain = false)
      : server(tls_options(std::move(options))) {
    add_routes(server.server());
    server.start(/*tls=*/true, plain);
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& tls_address() const { return server.tls_address(); }
};

inline std::string request(const std::string& target, const std::string& extra = {}) {
  return get_request(target, extra);
}

}  // namespace weft::test::http
