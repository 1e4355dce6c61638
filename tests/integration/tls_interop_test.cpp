// weft::tls against real peers on loopback: curl and Python's ssl module as clients of a weft
// TLS server, and `openssl s_server` as the server of a weft client. Certificates are made in
// the test (tests/support/test_certs.hpp) and written to a temporary directory for the tools.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_stream.hpp>
#include <weft/to_thread.hpp>
#include <weft/wait_for.hpp>

#include "http_server_test_support.hpp"
#include "loopback_port.hpp"
#include "required_tool.hpp"
#include "subprocess.hpp"
#include "test_certs.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;
using weft::test::KeyAndCert;
using weft::test::ProcessResult;
using weft::test::required_tool;
using weft::test::run_process;
using weft::test::Subprocess;
using weft::test::TempDir;
using weft::test::TestCa;
using weft::tls::Context;
using weft::tls::TlsStream;

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Serves one HTTP/1.1 request over TLS: reads the head, answers "hello\n", sends close_notify.
// Returns the ALPN protocol the handshake selected.
Task<std::string> serve_one_https_request(TcpListener& listener, Context context) {
  TcpStream accepted = co_await listener.accept();
  TlsStream tls = co_await TlsStream::accept(std::move(accepted), context);
  std::string head;
  std::array<std::byte, 4096> buffer{};
  while (head.find("\r\n\r\n") == std::string::npos) {
    const std::size_t n = co_await tls.read_some(buffer);
    if (n == 0) break;
    head += text(std::span(buffer).first(n));
  }
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n";
  co_await tls.write_all(std::as_bytes(std::span(response)));
  co_await tls.shutdown();
  co_return tls.alpn_protocol();
}

class TlsInterop : public ::testing::Test {
 protected:
  TlsInterop() : identity_(ca_.issue()), dir_("tls-interop") {
    ca_file_ = dir_.write("ca.pem", ca_.cert_pem()).string();
    cert_file_ = dir_.write("cert.pem", identity_.cert_pem).string();
    key_file_ = dir_.write("key.pem", identity_.key_pem).string();
  }

  // A weft server for one request, and `client` (a process) run against its port.
  std::pair<ProcessResult, std::string> one_request(
      const std::function<std::vector<std::string>(int port)>& client) {
    auto body = [&]() -> Task<std::pair<ProcessResult, std::string>> {
      auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
      const Context server = Context::server(
          {.cert_chain_file = cert_file_, .key_file = key_file_, .alpn = {"http/1.1"}});
      JoinHandle<std::string> served = weft::spawn(serve_one_https_request(listener, server));
      std::vector<std::string> argv = client(listener.local_address().port());
      // Named, not a temporary inside the co_await expression (g++ 12, see BUILD_NOTES).
      auto run_client = [argv]() mutable { return run_process(std::move(argv), 30s); };
      ProcessResult result = co_await weft::to_thread(run_client);
      std::string alpn;
      if (result.ok()) {
        alpn = co_await served;
      } else {
        served.cancel();
        try {
          (void)co_await served;
        } catch (const std::exception&) {
        }
      }
      co_return std::make_pair(std::move(result), std::move(alpn));
    };
    return weft::run(weft::wait_for(body(), 40s), weft::test::options(2));
  }

  TestCa ca_;
  KeyAndCert identity_;
  TempDir dir_;
  std::string ca_file_, cert_file_, key_file_;
};

TEST_F(TlsInterop, CurlFetchesOverHttpsFromAWeftServer) {
  const std::string curl = required_tool("curl", "curl");
  if (curl.empty()) return;
  const auto [result, alpn] = one_request([&](int port) -> std::vector<std::string> {
    return {curl,
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ca_file_,
            "https://localhost:" + std::to_string(port) + "/"};
  });
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.out, "hello\n");
  EXPECT_EQ(alpn, "http/1.1");  // curl offers h2 too, when built with it
}

TEST_F(TlsInterop, PythonsSslVerifiesAndReadsFromAWeftServer) {
  const std::string python = required_tool("python3", "python3");
  if (python.empty()) return;
  const std::string script = R"(
import socket, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        print(s.version(), s.selected_alpn_protocol())
        sys.stdout.write(data.decode().split("\r\n\r\n", 1)[1])
)";
  const auto [result, alpn] = one_request([&](int port) -> std::vector<std::string> {
    return {python, "-c", script, std::to_string(port), ca_file_};
  });
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.out, "TLSv1.3 http/1.1\nhello\n");
}

TEST_F(TlsInterop, AWeftClientTalksToOpensslSServer) {
  const std::string openssl = required_tool("openssl", "openssl");
  if (openssl.empty()) return;
  const int port = weft::test::free_loopback_port();
  // -rev: answers each line reversed. -naccept 1: exits after one connection.
  Subprocess server({openssl, "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                     cert_file_, "-key", key_file_, "-alpn", "http/1.1", "-rev", "-naccept", "1",
                     "-quiet"});
  ASSERT_TRUE(server.result().started) << server.result().start_error;
  auto body = [&]() -> Task<std::pair<std::string, std::string>> {
    const auto address = SocketAddress::parse("127.0.0.1:" + std::to_string(port));
    std::optional<TcpStream> tcp;
    for (int attempt = 0; attempt < 200 && !tcp; ++attempt) {
      bool refused = false;
      try {
        tcp.emplace(co_await TcpStream::connect(address));
      } catch (const std::system_error&) {
        refused = true;  // s_server is still starting
      }
      if (refused) co_await weft::sleep(25ms);
    }
    if (!tcp) throw std::runtime_error("openssl s_server never listened");
    const Context client = Context::client({.ca_pem = ca_.cert_pem(), .alpn = {"http/1.1"}});
    TlsStream tls = co_await TlsStream::connect(std::move(*tcp), client, "localhost");
    const std::string line = "hello weft\n";
    co_await tls.write_all(std::as_bytes(std::span(line)));
    std::string reply;
    std::array<std::byte, 256> buffer{};
    while (reply.find('\n') == std::string::npos) {
      const std::size_t n = co_await tls.read_some(buffer);
      if (n == 0) break;
      reply += text(std::span(buffer).first(n));
    }
    std::string alpn = tls.alpn_protocol();
    co_await tls.shutdown();
    co_return std::make_pair(reply, alpn);
  };
  const auto [reply, alpn] =
      weft::run(weft::wait_for(body(), weft::test::kDeadline), weft::test::options(2));
  EXPECT_EQ(reply.substr(0, reply.find('\n')), "tfew olleh");
  EXPECT_EQ(alpn, "http/1.1");
  const ProcessResult& done = server.wait(10s);
  EXPECT_FALSE(done.timed_out) << done.describe();
}

}  // namespace
