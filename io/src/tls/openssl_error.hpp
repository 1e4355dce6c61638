#pragma once

// OpenSSL's error queue as weft::tls exceptions.

#include <string>

namespace weft::tls::detail {

// The oldest error on this thread's OpenSSL queue as text ("" if none), clearing the queue.
[[nodiscard]] std::string take_openssl_error();

// Throws TlsError: "<what>: <OpenSSL's reason>".
[[noreturn]] void throw_openssl_error(const std::string& what);

}  // namespace weft::tls::detail
