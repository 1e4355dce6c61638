#pragma once

// HTTP dates (RFC 9110 5.6.7), IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT". Written
// without strftime/strptime, whose day and month names follow the process locale.

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace weft::http::detail {

// Exactly 29 characters.
[[nodiscard]] std::string format_http_date(std::time_t t);
inline constexpr std::size_t kHttpDateSize = 29;
// The same into `out`, which has room for kHttpDateSize characters (no NUL is written).
void format_http_date(std::time_t t, char* out) noexcept;
// std::nullopt for anything but a well-formed IMF-fixdate (the obsolete forms are ignored, as
// a cache validator may be).
[[nodiscard]] std::optional<std::time_t> parse_http_date(std::string_view text) noexcept;

}  // namespace weft::http::detail
