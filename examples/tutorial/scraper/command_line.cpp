#include "scraper/command_line.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <thread>

namespace scraper {

namespace {

constexpr const char* kSynopsis =
    "usage: weft_tutorial_web_scraper [URL] [--serve DIR] [--max-depth N] [--concurrency N]\n"
    "                                 [--loops N] [--timeout S] [--list]\n";

void print_help() {
  std::printf(
      "%s\n"
      "Crawls a web site from URL: fetches pages concurrently, follows their <a href> links\n"
      "that stay on URL's scheme, host and port, and reports each failed page and a summary.\n"
      "\n"
      "  URL              an http:// or https:// URL to start from (https: the server is\n"
      "                   verified against the system's trust store, or SSL_CERT_FILE).\n"
      "                   Without URL, a directory is served on 127.0.0.1 by weft's static\n"
      "                   file server and crawled from its index.html\n"
      "  --serve DIR      the directory to serve (default: Debian's python3-doc,\n"
      "                   /usr/share/doc/python3-doc/html)\n"
      "  --max-depth N    follow links at most N steps away from the start page (default 3)\n"
      "  --concurrency N  pages fetched at once (default 5)\n"
      "  --loops N        event loops (default: one per core, %u here)\n"
      "  --timeout S      give up on a page after S seconds (default 30)\n"
      "  --list           print every page visited: page <depth> <status> <bytes> <url>\n",
      kSynopsis, std::thread::hardware_concurrency());
}

[[noreturn]] void usage_error(const std::string& reason) {
  std::fprintf(stderr, "weft_tutorial_web_scraper: %s\n%s(--help says more)\n", reason.c_str(),
               kSynopsis);
  std::exit(2);
}

// The value after a flag, as a whole number in [low, high].
long number(std::string_view flag, const char* text, long low, long high) {
  if (text == nullptr) usage_error(std::string(flag) + " needs a value");
  const std::string_view value(text);
  long n = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || n < low || n > high)
    usage_error(std::string(flag) + " takes a whole number from " + std::to_string(low) + " to " +
                std::to_string(high) + ", not '" + std::string(value) + "'");
  return n;
}

// The value after a flag, as a number of seconds in (0, 3600].
std::chrono::milliseconds seconds(std::string_view flag, const char* text) {
  if (text == nullptr) usage_error(std::string(flag) + " needs a value");
  const std::string_view value(text);
  double s = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), s);
  if (error != std::errc() || end != value.data() + value.size() || !(s > 0 && s <= 3600))
    usage_error(std::string(flag) + " takes seconds, more than 0 and at most 3600, not '" +
                std::string(value) + "'");
  return std::chrono::milliseconds(static_cast<long>(s * 1000 + 0.5));
}

}  // namespace

Options parse_command_line(int argc, char** argv) {
  Options options;
  bool serve_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "-h" || arg == "--help") {
      print_help();
      std::exit(0);
    } else if (arg == "--list") {
      options.list = true;
    } else if (arg == "--serve") {
      if (value == nullptr) usage_error("--serve needs a directory");
      options.serve_dir = value;
      serve_given = true;
      ++i;
    } else if (arg == "--max-depth") {
      options.max_depth = static_cast<int>(number(arg, value, 0, 1000));
      ++i;
    } else if (arg == "--concurrency") {
      options.concurrency = static_cast<std::size_t>(number(arg, value, 1, 1000));
      ++i;
    } else if (arg == "--loops") {
      options.loops = static_cast<unsigned>(number(arg, value, 1, 256));
      ++i;
    } else if (arg == "--timeout") {
      options.timeout = seconds(arg, value);
      ++i;
    } else if (arg.starts_with("-")) {
      usage_error("unknown option '" + std::string(arg) + "'");
    } else if (options.url) {
      usage_error("more than one URL");
    } else {
      try {
        options.url = weft::http::Url::parse(arg);
      } catch (const weft::http::InvalidUrl& e) {
        usage_error(e.what());
      }
    }
  }
  if (options.url && serve_given) usage_error("give a URL or --serve DIR, not both");
  if (serve_given && !std::filesystem::is_directory(options.serve_dir))
    usage_error("--serve " + options.serve_dir + ": not a directory");
  return options;
}

}  // namespace scraper
