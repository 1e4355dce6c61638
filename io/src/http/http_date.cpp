#include "http_date.hpp"

#include <array>
#include <cstdio>
#include <cstring>

namespace weft::http::detail {

namespace {
constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int digits(std::string_view s) noexcept {
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}
}  // namespace

void format_http_date(std::time_t t, char* out) noexcept {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];  // a year past 9999 makes it longer: cut at 29 characters
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)].data(), tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  std::memcpy(out, buf, kHttpDateSize);
}

std::string format_http_date(std::time_t t) {
  std::string out(kHttpDateSize, ' ');
  format_http_date(t, out.data());
  return out;
}

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  std::tm tm{};
  tm.tm_mday = digits(s.substr(5, 2));
  int month = -1;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
  }
  tm.tm_mon = month;
  tm.tm_year = digits(s.substr(12, 4)) - 1900;
  tm.tm_hour = digits(s.substr(17, 2));
  tm.tm_min = digits(s.substr(20, 2));
  tm.tm_sec = digits(s.substr(23, 2));
  if (month < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
    return std::nullopt;
  return ::timegm(&tm);
}

}  // namespace weft::http::detail
