#pragma once

/// @file
/// Errors of weft::tls. A TLS connection that fails raises one of these; socket errors under
/// it (a reset, a refused connect) stay std::system_error, and a handshake that outlives its
/// timeout is weft::TimeoutError.

#include <stdexcept>
#include <string>

#include "weft/io_export.hpp"

namespace weft::tls {

/// The TLS layer refused the connection or broke off: a protocol error, a version or cipher
/// the peer does not share, garbage where a TLS record should be, a peer that closed without
/// close_notify. what() names the operation and OpenSSL's reason.
class WEFT_IO_API TlsError : public std::runtime_error {
 public:
  /// what(): "<context>: <reason>"; reason() the second part alone.
  TlsError(const std::string& context, std::string reason);
  /// A message with no separate reason: reason() is the whole of it.
  explicit TlsError(const std::string& what);
  /// Why, without where: OpenSSL's reason ("wrong version number", "certificate has
  /// expired"), for a caller that puts it in a message of its own.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

/// The peer's certificate did not pass verification. reason() is OpenSSL's text for it
/// ("certificate has expired", "self-signed certificate", "unable to get local issuer
/// certificate" for an unknown CA, "hostname mismatch", ...), verify_result() its X509_V_ERR_*
/// code.
class WEFT_IO_API CertificateError : public TlsError {
 public:
  /// `reason` for `verify_result`, with the `peer` it concerns in what().
  CertificateError(long verify_result, const std::string& reason, const std::string& peer);
  /// The X509_V_ERR_* code.
  [[nodiscard]] long verify_result() const noexcept { return verify_result_; }

 private:
  long verify_result_;
};

}  // namespace weft::tls
