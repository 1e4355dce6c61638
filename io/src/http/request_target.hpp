#pragma once

// The path of a request target, for routing: the origin-form's path ("/p" of "/p?q"), or the
// absolute-form's ("http://host/p?q" -> "/p"; RFC 9112 3.2.2: a server must accept it).
// Neither is percent-decoded.

#include <string_view>

namespace weft::http::detail {

[[nodiscard]] inline std::string_view target_path(std::string_view target) noexcept {
  if (!target.empty() && target.front() != '/') {
    const std::size_t scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      const std::size_t path = target.find_first_of("/?", scheme_end + 3);
      if (path == std::string_view::npos || target[path] == '?') return "/";
      target = target.substr(path);
    }
  }
  return target.substr(0, target.find('?'));
}

}  // namespace weft::http::detail
