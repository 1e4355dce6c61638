#include "weft/tls/tls_error.hpp"

#include <utility>

namespace weft::tls {

TlsError::TlsError(const std::string& context, std::string reason)
    : std::runtime_error(context + ": " + reason), reason_(std::move(reason)) {}

TlsError::TlsError(const std::string& what) : std::runtime_error(what), reason_(what) {}

CertificateError::CertificateError(long verify_result, const std::string& reason,
                                   const std::string& peer)
    : TlsError("weft::tls: the certificate of " + peer + " failed verification", reason),
      verify_result_(verify_result) {}

}  // namespace weft::tls
