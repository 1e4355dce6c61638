#include "weft/http/task_dump_route.hpp"

#include <string>

#include "weft/task_dump.hpp"

namespace weft::http {

namespace {

// The value of `name` in a query ("a=1&format=json"), undecoded; empty if absent.
std::string_view query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=')
      return item.substr(name.size() + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

Task<ServerResponse> serve_task_dump(ServerRequest& request) {
  const std::string_view format = query_value(request.query(), "format");
  if (format.empty() || format == "text")
    co_return ServerResponse::text(200, weft::dump_tasks().text());
  if (format == "json")
    co_return ServerResponse::text(200, weft::dump_tasks().json(), "application/json");
  co_return ServerResponse::text(400, "format: text or json\n");
}

}  // namespace

void mount_task_dump(Server& server, std::string_view path) {
  server.route("GET", path, &serve_task_dump);
}

}  // namespace weft::http
