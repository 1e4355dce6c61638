// Headers lookups and the case-insensitive comparison HTTP names and tokens use.

#include <weft/http/message.hpp>

namespace weft::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> Headers::find(std::string_view name) const noexcept {
  for (const Header& h : fields_) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::size_t Headers::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const Header& h : fields_) n += iequals(h.name, name) ? 1 : 0;
  return n;
}

bool Headers::has_token(std::string_view name, std::string_view token) const noexcept {
  for (const Header& h : fields_) {
    if (!iequals(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view element = trim(rest.substr(0, comma));
      if (iequals(element, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace weft::http
