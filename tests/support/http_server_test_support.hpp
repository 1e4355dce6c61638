#pragma once

// Everything the weft::http::Server tests use, one header each:
//
// - http_test_server.hpp: TestServer, a Runtime and a Server on 127.0.0.1, driven from the
//   test's own thread.
// - http_raw_client.hpp: RawClient, a loopback client that sends exact bytes and reads
//   responses with deadlines; RawResponse, fetch(), get_request(), parse_responses().
// - http_server_routes.hpp: the routes the tests share, and Served (a TestServer with them).
// - fd_count.hpp, temp_dir.hpp: open fds, temporary directories.

#include "fd_count.hpp"
#include "http_raw_client.hpp"
#include "http_server_routes.hpp"
#include "http_test_server.hpp"
#include "temp_dir.hpp"
