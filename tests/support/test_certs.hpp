#pragma once

// Certificates made in the test, with OpenSSL's API and no network or files: a CA, leaves it
// signs (with chosen names and validity), and self-signed leaves. ECDSA P-256 keys.

#include <string>
#include <utility>
#include <vector>

namespace weft::test {

struct KeyAndCert {
  std::string cert_pem;
  std::string key_pem;
};

struct LeafSpec {
  std::vector<std::string> dns_names{"localhost"};
  std::vector<std::string> ip_addresses{"127.0.0.1"};
  // Validity, in seconds from now.
  long not_before = -3600;
  long not_after = 24 * 3600;
};

class TestCa {
 public:
  explicit TestCa(const std::string& common_name = "weft test CA");
  [[nodiscard]] const std::string& cert_pem() const noexcept { return ca_.cert_pem; }
  [[nodiscard]] KeyAndCert issue(const LeafSpec& spec = {}) const;
  // A CA that this one signs: leaves it issues verify against this CA only through it.
  [[nodiscard]] TestCa intermediate(const std::string& common_name) const;

 private:
  explicit TestCa(KeyAndCert ca) : ca_(std::move(ca)) {}
  KeyAndCert ca_;
};

// A leaf that signs itself (trusted by nobody).
[[nodiscard]] KeyAndCert self_signed(const LeafSpec& spec = {});

}  // namespace weft::test
