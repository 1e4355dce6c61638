#pragma once

// Real HTTP servers for weft::http::Client's tests: nginx and Python's http.server, each
// started as a child process on a free loopback port in a temporary directory and stopped
// (SIGTERM to its process group, then waitpid) when the object goes.
//
// Used from the test's own thread, before and after weft::run: starting a server is set-up,
// done with blocking calls, not something the runtime under test should carry.
//
// A missing binary is an error with a clear message (scripts/deps installs python3 and
// nginx-light), never a silent skip.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback_port.hpp"
#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace weft::test {

// A server process listening on 127.0.0.1:port(); `www()` is its document root.
class ServerProcess {
 public:
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] std::filesystem::path www() const { return dir_.path() / "www"; }
  void write(const std::string& relative, const std::string& content) const {
    dir_.write("www/" + relative, content);
  }

 protected:
  ServerProcess() { std::filesystem::create_directories(dir_.path() / "www"); }

  // Starts `make_argv(port)` until it accepts on its port (startup is bounded: 10 s), trying
  // another port if the child exits first (a port taken meanwhile). Returns an error text.
  template <class MakeArgv>
  std::optional<std::string> launch(const std::string& name, MakeArgv make_argv) {
    const std::string log = (dir_.path() / (name + ".log")).string();
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      child_.emplace(make_argv(port_), log);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline) {
        if (accepts_connections(port_)) return std::nullopt;
        if (child_->exited()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      child_.reset();
    }
    return name + " did not start listening; its log (" + log + "):\n" + read_file(log);
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> child_;
};

// nginx (Debian's nginx-light), non-daemon, with a generated configuration:
//   /redir          302 to /a.txt
//   /chunked.html   served through sub_filter ("AAA" -> "BBB"), which makes the length
//                   unknown, so nginx sends it chunked
//   everything else static files from www().
class NginxServer : public ServerProcess {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nginx";

  // nullopt and `error` set if nginx is missing or does not start.
  static std::unique_ptr<NginxServer> start(std::string& error) {
    if (::access(kBinary, X_OK) != 0) {
      error = std::string(kBinary) +
              " not found: install nginx-light (scripts/deps does) to run the nginx tests";
      return nullptr;
    }
    std::unique_ptr<NginxServer> server(new NginxServer());
    const std::string prefix = server->dir_.path().string();
    auto failure = server->launch("nginx", [&](std::uint16_t port) {
      server->write_config(port);
      return std::vector<std::string>{
          kBinary, "-p",         prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf",
          "-g",    "daemon off;"};
    });
    if (failure) {
      error = *failure + read_file(server->dir_.path() / "error.log");
      return nullptr;
    }
    return server;
  }

 private:
  NginxServer() = default;

  void write_config(std::uint16_t port) const {
    const std::string p = dir_.path().string();
    std::string conf;
    // Started as root, nginx would run its worker as "nobody", which cannot read a 0700
    // temporary directory.
    if (::geteuid() == 0) conf += "user root;\n";
    conf += "worker_processes 1;\nerror_log " + p + "/error.log;\npid " + p +
            "/nginx.pid;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            "  access_log off;\n"
            "  client_body_temp_path " +
            p + "/body;\n  proxy_temp_path " + p + "/proxy;\n  fastcgi_temp_path " + p +
            "/fastcgi;\n  uwsgi_temp_path " + p + "/uwsgi;\n  scgi_temp_path " + p +
            "/scgi;\n"
            "  default_type application/octet-stream;\n"
            "  keepalive_requests 1000;\n"
            "  server {\n"
            "    listen 127.0.0.1:" +
            std::to_string(port) +
            ";\n"
            "    root " +
            p +
            "/www;\n"
            "    location = /redir { return 302 /a.txt; }\n"
            "    location = /chunked.html {\n"
            "      default_type text/html;\n"
            "      sub_filter 'AAA' 'BBB';\n"
            "      sub_filter_once off;\n"
            "    }\n"
            "  }\n"
            "}\n";
    dir_.write("nginx.conf", conf);
  }
};

// nginx as a TLS *client*: plain HTTP on its own port, every request proxied to
// https://127.0.0.1:<upstream> (proxy_pass https://), the upstream's certificate verified
// against `ca_pem` for the name "localhost", with SNI, over kept-alive upstream connections.
class NginxTlsProxy : public ServerProcess {
 public:
  static std::unique_ptr<NginxTlsProxy> start(std::uint16_t upstream, const std::string& ca_pem,
                                              std::string& error) {
    if (::access(NginxServer::kBinary, X_OK) != 0) {
      error = std::string(NginxServer::kBinary) +
              " not found: install nginx-light (scripts/deps does) to run the nginx tests";
      return nullptr;
    }
    std::unique_ptr<NginxTlsProxy> proxy(new NginxTlsProxy());
    proxy->dir_.write("ca.pem", ca_pem);
    const std::string prefix = proxy->dir_.path().string();
    auto failure = proxy->launch("nginx", [&](std::uint16_t port) {
      proxy->write_config(port, upstream);
      return std::vector<std::string>{
          NginxServer::kBinary,   "-p", prefix,       "-e", prefix + "/error.log", "-c",
          prefix + "/nginx.conf", "-g", "daemon off;"};
    });
    if (failure) {
      error = *failure + read_file(proxy->dir_.path() / "error.log");
      return nullptr;
    }
    return proxy;
  }
  [[nodiscard]] std::string error_log() const { return read_file(dir_.path() / "error.log"); }

 private:
  NginxTlsProxy() = default;

  void write_config(std::uint16_t port, std::uint16_t upstream) const {
    const std::string p = dir_.path().string();
    std::string conf;
    if (::geteuid() == 0) conf += "user root;\n";
    conf += "worker_processes 1;\nerror_log " + p + "/error.log;\npid " + p +
            "/nginx.pid;\nevents { worker_connections 512; }\nhttp {\n  access_log off;\n" +
            "  client_body_temp_path " + p + "/body;\n  proxy_temp_path " + p +
            "/proxy;\n  fastcgi_temp_path " + p + "/fastcgi;\n  uwsgi_temp_path " + p +
            "/uwsgi;\n  scgi_temp_path " + p + "/scgi;\n" +
            "  upstream weft { server 127.0.0.1:" + std::to_string(upstream) +
            "; keepalive 4; }\n" + "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
            ";\n    location / {\n      proxy_pass https://weft;\n" +
            "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n" +
            "      proxy_ssl_verify on;\n      proxy_ssl_trusted_certificate " + p +
            "/ca.pem;\n      proxy_ssl_name localhost;\n      proxy_ssl_server_name on;\n" +
            "      proxy_ssl_session_reuse on;\n    }\n  }\n}\n";
    dir_.write("nginx.conf", conf);
  }
};

// python3 -m http.server: HTTP/1.0 answers, one request per connection.
class PythonHttpServer : public ServerProcess {
 public:
  static std::unique_ptr<PythonHttpServer> start(std::string& error) {
    const std::optional<std::string> python = find_executable("python3");
    if (!python) {
      error = "python3 not found in PATH: install it (scripts/deps does) to run these tests";
      return nullptr;
    }
    std::unique_ptr<PythonHttpServer> server(new PythonHttpServer());
    const std::string root = server->www().string();
    auto failure = server->launch("python-http-server", [&](std::uint16_t port) {
      return std::vector<std::string>{*python,  "-m",        "http.server", std::to_string(port),
                                      "--bind", "127.0.0.1", "--directory", root};
    });
    if (failure) {
      error = *failure;
      return nullptr;
    }
    return server;
  }

 private:
  PythonHttpServer() = default;
};

}  // namespace weft::test
