#pragma once

/// @file
/// weft::http::Router: maps a method and a path to a handler.
///
///   router.add("GET", "/users/{id}", handler);   // param("id")
///   router.add("GET", "/static/*", handler);     // param("*"): the rest of the path
///
/// Patterns are split at '/'; a segment is literal, "{name}" (any one non-empty segment) or,
/// as the last one, "*" (the rest, possibly empty). A literal segment beats a parameter, which
/// beats "*", segment by segment, whatever the order of add(). Matching uses the raw path (not
/// percent-decoded), so "/a%2Fb" is one segment. A path that matches no pattern is a 404; one
/// that matches with another method is a 405 with an Allow field. HEAD uses the GET handler
/// when no HEAD route exists (the server sends the head only).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/server_request.hpp"
#include "weft/http/server_response.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::http {

/// A handler: a coroutine from the request to the response. It may throw: the client gets a
/// 500 and the server goes on. Captured state lives as long as the Router (the Server).
using Handler = std::function<Task<ServerResponse>(ServerRequest&)>;

/// Maps a method and a path to a Handler; see this file's description.
class WEFT_IO_API Router {
 public:
  Router();
  /// Takes over `other`'s routes.
  Router(Router&&) noexcept;
  /// Drops this router's routes and takes over `other`'s.
  Router& operator=(Router&&) noexcept;
  ~Router();

  /// std::invalid_argument for a pattern that does not start with '/', a '*' that is not the
  /// last segment, an empty "{}", or a method that is not a token; std::logic_error for a
  /// second handler of the same method and pattern.
  void add(std::string_view method, std::string_view pattern, Handler handler);

  /// What match() found for a method and a path.
  struct Match {
    const Handler* handler = nullptr;  ///< nullptr: status says why (404 or 405)
    /// the "{name}" and "*" segments of the route, pointing into the path
    ServerRequest::Params params;
    /// 0 when a handler was found, else 404 or 405
    int status = 0;
    std::string allow;  ///< for a 405: the methods the path has, "GET, HEAD, POST"
  };
  /// `path` must outlive the params (they point into it).
  [[nodiscard]] Match match(std::string_view method, std::string_view path) const;

  struct Node;  ///< the trie; private to router.cpp

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace weft::http
