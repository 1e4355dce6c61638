#include "tls/openssl_error.hpp"

#include <openssl/err.h>

#include <array>

#include "weft/tls/tls_error.hpp"

namespace weft::tls::detail {

std::string take_openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

void throw_openssl_error(const std::string& what) {
  const std::string reason = take_openssl_error();
  if (reason.empty()) throw TlsError(what);
  throw TlsError(what, reason);
}

}  // namespace weft::tls::detail
