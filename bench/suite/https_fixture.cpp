#include "https_fixture.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

#include "child_process.hpp"

namespace weft::bench {

std::optional<std::filesystem::path> find_program(const std::string& name) {
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin";
  std::string_view rest = path;
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (dir.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

HttpsFixture::HttpsFixture() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "weft-bench-https-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::system_category(), "mkdtemp");
  dir_ = pattern;
  const std::optional<std::filesystem::path> openssl = find_program("openssl");
  if (!openssl) throw std::runtime_error("openssl (the command) is not installed");
  ChildProcess req(
      *openssl, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-days", "7", "-subj", "/CN=localhost", "-addext",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key(), "-out", cert()});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (req.running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (req.running() || !req.exit_status().clean())
    throw std::runtime_error("openssl req could not make the certificate: " + req.stderr_text());
}

HttpsFixture::~HttpsFixture() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> HttpsFixture::nginx_args(std::uint16_t port) const {
  const std::string p = dir_.string();
  const std::string conf = p + "/nginx-" + std::to_string(port) + ".conf";
  std::ofstream out(conf);
  out << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
      << "pid " << p << "/nginx-" << port << ".pid;\n"
      << "error_log " << p << "/nginx-error.log;\n"
      << "events { worker_connections 4096; }\n"
      << "http {\n  access_log off;\n  keepalive_requests 1000;\n"
      << "  client_body_temp_path " << p << "/body;\n  proxy_temp_path " << p << "/proxy;\n"
      << "  fastcgi_temp_path " << p << "/fastcgi;\n  uwsgi_temp_path " << p << "/uwsgi;\n"
      << "  scgi_temp_path " << p << "/scgi;\n"
      << "  ssl_protocols TLSv1.2 TLSv1.3;\n"
      << "  server {\n    listen 127.0.0.1:" << port << " ssl;\n"
      << "    ssl_certificate " << cert() << ";\n    ssl_certificate_key " << key() << ";\n"
      << "    location = / { default_type text/plain; return 200 \"hello, world\\n\"; }\n"
      << "  }\n}\n";
  out.close();
  if (!out) throw std::runtime_error("could not write " + conf);
  return {"-p", p, "-e", p + "/nginx-error.log", "-c", conf};
}

}  // namespace weft::bench
