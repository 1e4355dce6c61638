#pragma once

// What the io/https_hello scenario needs besides the servers: a temporary directory with an
// ECDSA P-256 certificate for 127.0.0.1 made by `openssl req` (the same files for weft and
// nginx), and nginx's command line for a port, with its configuration written there.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace weft::bench {

// The path of `name` in $PATH, /usr/sbin or /sbin (nginx lives in /usr/sbin, which a
// non-root PATH often lacks), if it is an executable file.
[[nodiscard]] std::optional<std::filesystem::path> find_program(const std::string& name);

class HttpsFixture {
 public:
  // Makes the directory and the certificate (throws std::runtime_error naming what failed).
  HttpsFixture();
  HttpsFixture(const HttpsFixture&) = delete;
  HttpsFixture& operator=(const HttpsFixture&) = delete;
  ~HttpsFixture();  // removes the directory

  [[nodiscard]] std::string cert() const { return (dir_ / "cert.pem").string(); }
  [[nodiscard]] std::string key() const { return (dir_ / "key.pem").string(); }
  // nginx's arguments to serve "hello, world\n" for GET / over HTTPS on 127.0.0.1:port, as
  // one process (master_process off: the worker is the process whose CPU is measured), with
  // the certificate above, keep-alive up to 1000 requests (weft's default too) and no log.
  [[nodiscard]] std::vector<std::string> nginx_args(std::uint16_t port) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace weft::bench
