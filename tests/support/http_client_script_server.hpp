#pragma once

// A scripted HTTP/1.1 server for weft::http::Client's tests, on weft's own TcpListener, so a
// test can answer with exact bytes — or misbehave exactly (close, reset, stall, trickle).
//
//   auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest& r)
//                                         -> Task<bool> {
//     co_await c.write(http_response(200, "hello"));
//     co_return true;  // keep reading requests on this connection; false closes it
//   });
//   ... client.get(server->url("/x")) ...
//   co_await server->stop();
//
// Requests are parsed with weft::http::RequestParser, the strict server-side parser, so every
// request the client sends is also checked for well-formedness. The server counts what tests
// assert on: connections accepted, open at once (and the most ever), closed by the client
// (end of stream read), and every request received, with its connection and position on it.
//
// Start and use it inside a task (the listener registers with the current loop); stop() it
// before it is destroyed. The handler may run on any loop, concurrently for different
// connections: it must be thread-safe.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/http/request_parser.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/task_group.hpp>
#include <weft/weft.hpp>

namespace weft::test {

struct ServerRequest {
  std::string method;
  std::string target;
  http::HeaderList headers;
  std::string body;
  std::size_t connection = 0;  // 1 for the first connection accepted, 2 for the next ...
  std::size_t index = 0;       // 0 for the first request on its connection
};

class ScriptServer;

class ServerConnection {
 public:
  // `client_closes` counts the connections whose client closed (the server's counter).
  ServerConnection(const ScriptServer& server, std::atomic<std::size_t>& client_closes,
                   io::TcpStream stream, std::size_t id)
      : server_(&server), client_closes_(&client_closes), stream_(std::move(stream)), id_(id) {}

  // The server this connection belongs to (its url(), its counters), for handlers.
  [[nodiscard]] const ScriptServer& server() const noexcept { return *server_; }
  [[nodiscard]] std::size_t id() const noexcept { return id_; }
  [[nodiscard]] io::TcpStream& stream() noexcept { return stream_; }

  Task<void> write(std::string bytes) {
    co_await stream_.write_all(std::as_bytes(std::span(bytes)));
  }

  // Closes with a reset (SO_LINGER 0): the client reads ECONNRESET, not an end of stream.
  void reset() {
    const linger hard{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(stream_.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    stream_.close();
  }

  // Reads (and drops) until the client closes its side; false if it did not within `limit`.
  Task<bool> until_client_closes(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    try {
      co_await weft::wait_for(drain(stream_), limit);
      client_closes_->fetch_add(1);
      co_return true;
    } catch (const weft::TimeoutError&) {
      co_return false;
    }
  }

 private:
  static Task<void> drain(io::TcpStream& stream) {
    std::vector<std::byte> buffer(4096);
    try {
      for (;;) {
        const std::size_t n = co_await stream.read_some(buffer);
        if (n == 0) break;
      }
    } catch (const std::system_error&) {  // ECONNRESET is a close too
    }
  }

  const ScriptServer* server_;
  std::atomic<std::size_t>* client_closes_;
  io::TcpStream stream_;
  std::size_t id_;
};

inline const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 404:
      return "Not Found";
    default:
      return "Status";
  }
}

// A complete keep-alive response with a Content-Length body; `extra` is more header lines,
// each ending in CRLF.
inline std::string http_response(int status, std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) +
         "\r\n" + std::string(body);
}

inline std::string redirect_response(int status, std::string_view location) {
  return http_response(status, "", "Location: " + std::string(location) + "\r\n");
}

class ScriptServer {
 public:
  using Handler = std::function<Task<bool>(ServerConnection&, const ServerRequest&)>;

  static std::unique_ptr<ScriptServer> start(Handler handler) {
    std::unique_ptr<ScriptServer> server(new ScriptServer(std::move(handler)));
    server->acceptor_ = weft::spawn(server->accept_loop(), {.name = "ScriptServer accept"});
    return server;
  }

  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;
  ~ScriptServer() = default;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  [[nodiscard]] std::size_t accepted() const noexcept { return accepted_.load(); }
  [[nodiscard]] int open_connections() const noexcept { return open_.load(); }
  [[nodiscard]] int max_open_connections() const noexcept { return max_open_.load(); }
  // Connections on which the server read the end of the client's stream (or a reset), in its
  // request loop or in ServerConnection::until_client_closes().
  [[nodiscard]] std::size_t client_closes() const noexcept { return client_closes_.load(); }
  [[nodiscard]] std::vector<ServerRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  [[nodiscard]] std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }

  // Stops accepting and closes every connection; returns once all have ended.
  Task<void> stop() {
    acceptor_.cancel();
    co_await acceptor_.shielded();
    listener_.reset();
  }

 private:
  explicit ScriptServer(Handler handler)
      : handler_(std::move(handler)),
        listener_(io::TcpListener::bind(io::SocketAddress::parse("127.0.0.1:0"))),
        port_(listener_->local_address().port()) {}

  Task<void> accept_loop() {
    co_await weft::with_task_group([this](weft::TaskGroup& group) -> Task<void> {
      for (std::size_t id = 1;; ++id) {
        io::TcpStream stream = co_await listener_->accept();
        accepted_.fetch_add(1);
        group.spawn(serve(std::move(stream), id));
      }
    });
  }

  Task<void> serve(io::TcpStream stream, std::size_t id) {
    const int open = open_.fetch_add(1) + 1;
    for (int seen = max_open_.load();
         open > seen && !max_open_.compare_exchange_weak(seen, open);) {
    }
    ServerConnection connection(*this, client_closes_, std::move(stream), id);
    try {
      co_await serve_requests(connection);
    } catch (const CancelledError&) {
      open_.fetch_sub(1);
      throw;
    } catch (const std::exception&) {
      // The client went away while we wrote: that is what some tests do.
    }
    connection.stream().close();
    open_.fetch_sub(1);
  }

  Task<void> serve_requests(ServerConnection& connection) {
    http::RequestParser parser;
    std::vector<std::byte> buffer(16 * 1024);
    for (std::size_t index = 0;; ++index) {
      while (parser.status() == http::ParseStatus::need_more) {
        std::size_t n = 0;
        try {
          n = co_await connection.stream().read_some(buffer);
        } catch (const std::system_error&) {
          // A reset: the client closed with unread bytes (a response it abandoned).
        }
        if (n == 0) {
          client_closes_.fetch_add(1);
          co_return;
        }
        (void)parser.feed(buffer.data(), n);
      }
      if (parser.status() == http::ParseStatus::error) {
        ADD_FAILURE_AT(__FILE__, __LINE__)
            << "the client sent a malformed request: " << parser.error().reason;
        co_return;
      }
      ServerRequest request = copy(parser.request(), connection.id(), index);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const bool keep_open = co_await handler_(connection, request);
      if (!keep_open || !connection.stream().is_open()) co_return;
      (void)parser.next();
    }
  }

  static ServerRequest copy(const http::Request& r, std::size_t connection, std::size_t index) {
    ServerRequest out;
    out.method = std::string(r.method);
    out.target = std::string(r.target);
    for (const http::Header& h : r.headers)
      out.headers.add(std::string(h.name), std::string(h.value));
    out.body = std::string(r.body);
    out.connection = connection;
    out.index = index;
    return out;
  }

  Handler handler_;
  std::optional<io::TcpListener> listener_;
  std::uint16_t port_;
  JoinHandle<void> acceptor_;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::atomic<std::size_t> client_closes_{0};
  mutable std::mutex mutex_;
  std::vector<ServerRequest> requests_;  // guarded by mutex_
};

}  // namespace weft::test
