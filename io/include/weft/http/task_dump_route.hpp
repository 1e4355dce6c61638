#pragma once

/// @file
/// weft::http::mount_task_dump: serves the runtime's task dump (weft/task_dump.hpp) over HTTP.
///
///   weft::http::Server debug;                      // a server only operators reach
///   weft::http::mount_task_dump(debug);            // GET /debug/tasks
///   (void)debug.listen(weft::io::SocketAddress::parse("127.0.0.1:9901"));
///
///   $ curl localhost:9901/debug/tasks              # the tree as text
///   $ curl 'localhost:9901/debug/tasks?format=json'
///
/// A dump names every task and what it waits on: mount it on a server bound to a private
/// address (or behind your own access check), not on the public one. The handler runs as a
/// task of the server's runtime; the dump itself never waits for a loop, so the route answers
/// while other loops are stuck (the loop serving the request must not be one of them).

#include <string_view>

#include "weft/http/server.hpp"
#include "weft/io_export.hpp"

namespace weft::http {

/// Adds `GET path` to `server`: 200 with TaskDump::text() (text/plain), or with `?format=json`
/// TaskDump::json() (application/json); 400 for another format. Call before serve(), as for
/// any route; std::logic_error if the server already has a GET route at `path`.
WEFT_IO_API void mount_task_dump(Server& server, std::string_view path = "/debug/tasks");

}  // namespace weft::http
