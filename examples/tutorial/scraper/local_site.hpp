#pragma once

// A directory served over HTTP on 127.0.0.1 by weft's static file server, in the calling
// task's runtime: the site the scraper crawls when it is given no URL. An `async with`
// resource (weft::with_resource): aclose() stops the server, after the crawl or an error.

#include <chrono>
#include <memory>
#include <string>
#include <weft/http/server.hpp>
#include <weft/http/url.hpp>
#include <weft/weft.hpp>

namespace scraper {

class LocalSite {
 public:
  // From a weft task: the server listens on a free port, one listener per loop.
  explicit LocalSite(const std::string& dir) : server_(std::make_unique<weft::http::Server>()) {
    server_->static_files("/", dir);
    address_ = server_->listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
    serving_ = weft::spawn(server_->serve());
  }

  [[nodiscard]] weft::http::Url index() const {
    return weft::http::Url::parse("http://" + address_.to_string() + "/index.html");
  }

  weft::Task<void> aclose() {
    co_await server_->shutdown(std::chrono::seconds(1));
    co_await serving_;
  }

 private:
  // On the heap: with_resource moves the site, and a Server does not move (serve() holds it).
  std::unique_ptr<weft::http::Server> server_;
  weft::io::SocketAddress address_;
  weft::JoinHandle<void> serving_;
};

}  // namespace scraper
