#include "test_certs.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace weft::test {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_certs: ") + what);
}

KeyPtr new_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

// A certificate for `key` named `cn`, issued by `issuer` (itself if null); not signed yet.
CertPtr make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, long not_before,
                  long not_after, bool is_ca) {
  static std::atomic<long> serial{1};
  CertPtr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial.fetch_add(1));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) == 1,
        "X509_set_issuer_name");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  if (is_ca) {
    add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
  }
  add_extension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  return cert;
}

void add_names(X509* cert, X509* issuer, const LeafSpec& spec) {
  std::string san;
  for (const std::string& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert, issuer, NID_subject_alt_name, san);
}

}  // namespace

TestCa::TestCa(const std::string& common_name) {
  KeyPtr key = new_key();
  CertPtr cert = make_cert(common_name, key.get(), nullptr, -3600, 10 * 24 * 3600, true);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  ca_ = {pem_of(cert.get()), pem_of(key.get())};
}

namespace {

struct ParsedCa {
  CertPtr cert;
  KeyPtr key;
};

ParsedCa parse(const KeyAndCert& ca) {
  BioPtr cert_bio(BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())));
  CertPtr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  BioPtr key_bio(BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  check(cert != nullptr && key != nullptr, "reading the CA back");
  return {std::move(cert), std::move(key)};
}

}  // namespace

TestCa TestCa::intermediate(const std::string& common_name) const {
  const ParsedCa issuer = parse(ca_);
  KeyPtr key = new_key();
  CertPtr cert = make_cert(common_name, key.get(), issuer.cert.get(), -3600, 10 * 24 * 3600, true);
  check(X509_sign(cert.get(), issuer.key.get(), EVP_sha256()) > 0, "X509_sign");
  return TestCa(KeyAndCert{pem_of(cert.get()), pem_of(key.get())});
}

KeyAndCert TestCa::issue(const LeafSpec& spec) const {
  const ParsedCa issuer = parse(ca_);
  KeyPtr key = new_key();
  const std::string cn = spec.dns_names.empty() ? "weft test leaf" : spec.dns_names.front();
  CertPtr cert =
      make_cert(cn, key.get(), issuer.cert.get(), spec.not_before, spec.not_after, false);
  add_names(cert.get(), issuer.cert.get(), spec);
  check(X509_sign(cert.get(), issuer.key.get(), EVP_sha256()) > 0, "X509_sign");
  return {pem_of(cert.get()), pem_of(key.get())};
}

KeyAndCert self_signed(const LeafSpec& spec) {
  KeyPtr key = new_key();
  const std::string cn = spec.dns_names.empty() ? "weft test leaf" : spec.dns_names.front();
  CertPtr cert = make_cert(cn, key.get(), nullptr, spec.not_before, spec.not_after, false);
  add_names(cert.get(), cert.get(), spec);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  return {pem_of(cert.get()), pem_of(key.get())};
}

}  // namespace weft::test
