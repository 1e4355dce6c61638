#pragma once

// The load generator's reading of an HTTP/1.x response head: only what it needs to frame
// responses on a keep-alive connection (status 200, Content-Length, Connection: close). Not a
// general parser: anything else, chunked bodies included, is an error of the run, since the
// servers under test never send it.

#include <cstddef>
#include <string_view>

namespace weft::bench {

// What the load generator needs from a response's header section.
struct HttpHead {
  std::size_t header_bytes = 0;    // up to and including the blank line
  std::size_t content_length = 0;  // body bytes that follow
  bool close = false;              // the server closes after this response
};

// Parses a complete header section (`head` ends with "\r\n\r\n"). Throws std::runtime_error
// (the caller adds where) for anything but a 200 with a Content-Length.
HttpHead parse_http_head(std::string_view head);

}  // namespace weft::bench
