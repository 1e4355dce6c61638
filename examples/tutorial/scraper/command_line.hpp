#pragma once

// The web scraper's command line:
//   weft_tutorial_web_scraper [URL] [--serve DIR] [--max-depth N] [--concurrency N]
//                             [--loops N] [--timeout S] [--list]

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <weft/http/url.hpp>

namespace scraper {

struct Options {
  // Where to start; std::nullopt: serve `serve_dir` on 127.0.0.1 and start at its index.html.
  std::optional<weft::http::Url> url;
  std::string serve_dir = "/usr/share/doc/python3-doc/html";  // Debian's python3-doc
  int max_depth = 3;            // 3 reaches every page of python3-doc from its index.html
  std::size_t concurrency = 5;  // fetches in flight at once
  unsigned loops = 0;           // event loops; 0: one per core
  // A page not fetched by then is an error. A guess: far beyond a healthy server's answer,
  // far below the client's default (300 s): a crawler had better skip one stuck page.
  std::chrono::milliseconds timeout{30'000};
  bool list = false;  // print a line for every page
};

// Parses the arguments. A bad one prints the reason and the usage on stderr and exits with
// status 2; --help prints the usage on stdout and exits with 0.
[[nodiscard]] Options parse_command_line(int argc, char** argv);

}  // namespace scraper
