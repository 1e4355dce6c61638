// The asyncio tutorial's last program: a concurrent web scraper. Start at a URL, fetch pages a
// few at a time, pull the <a href> links out of each, and follow those that stay on the site,
// every page once, down to a maximum depth; a page that fails is reported and the crawl goes on.
//
// What to look at, top to bottom:
// - follow(): the URL rules. Url::resolve does RFC 3986 ("../", "./", a query is kept, a
//   fragment dropped, so "a.html#top" is a.html); mailto:, javascript: and links to another
//   origin (scheme, host or port: an http site's https links too) are skipped and counted.
// - Frontier: the pages seen so far. The tasks run on several loops (threads) at once and many
//   pages link to the same one: a mutex makes "seen before?" and "mark it seen" one step, so
//   each page is fetched once however many tasks find it at the same moment.
// - fetch(): a weft::Semaphore caps the requests in flight (--concurrency, default 5), the
//   tutorial's `async with semaphore:`.
// - visit(): one page: fetch, then queue_links() on the to_thread pool, the CPU-bound part
//   (the HTML parser is in scraper/html_links.cpp), so that no event loop is held up by it.
// - crawl_site(): the site level by level, each level a TaskGroup of one task per page.
//
// Without a URL it serves Debian's python3-doc (about 530 pages of real HTML) with weft's own
// static file server on 127.0.0.1, in the same runtime, and crawls that from its index.html.
//
// Prints a line per failed page, `error <url>: <reason>`; with --list a line per page,
// `page <depth> <status> <bytes> <url>`; then, in real seconds (not tutorial seconds):
//   summary: pages=527 errors=1 links=163584 skipped=8971 bytes=50658198 seconds=1.342
//            pages_per_s=392.7 loops=2 concurrency=5          (on one line)
// and the same as a sentence. Exit status 0 once the crawl has ended (failed pages are part of
// the report), 2 for a bad command line (--help has the usage).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/weft.hpp>

#include "scraper/command_line.hpp"
#include "scraper/html_links.hpp"
#include "scraper/local_site.hpp"

using weft::http::ClientResponse;
using weft::http::Url;

// --- URL rules -------------------------------------------------------------------------------

// "mailto", "https", "javascript"...; empty for a reference without one ("../a", "//host/a").
std::string_view scheme_of(std::string_view href) {
  const auto end = href.find_first_of(":/?#");
  return end != std::string_view::npos && href[end] == ':' ? href.substr(0, end) : "";
}

// Browsers percent-encode what a URL cannot carry raw (spaces, non-ASCII bytes) before they
// follow a link; Url refuses such bytes, so encode them first: "a b.html" is "a%20b.html".
std::string percent_encode_unsafe(std::string_view href) {
  std::string out;
  for (const unsigned char c : href) {
    if (c > ' ' && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// The page `href` leads to from `page`, if the crawl follows it: http or https, and only on
// the start URL's origin (scheme, host and port).
std::optional<Url> follow(const Url& start, const Url& page, std::string_view href) {
  const std::string_view scheme = scheme_of(href);
  if (!scheme.empty() && !weft::http::iequals(scheme, "http") &&
      !weft::http::iequals(scheme, "https"))
    return std::nullopt;
  try {
    Url target = page.resolve(percent_encode_unsafe(href));
    if (target.same_origin(start)) return target;
  } catch (const weft::http::InvalidUrl&) {  // "100%.html", "http://host:99999/"...
  }
  return std::nullopt;
}

// --- the crawl's shared state ----------------------------------------------------------------

// The pages seen so far, and those found for the next level.
class Frontier {
 public:
  explicit Frontier(const Url& start) { add(start); }

  // Queues `url` for the next level unless some task, on any loop, saw it before.
  void add(Url url) {
    std::string key = url.to_string();
    std::lock_guard lock(mutex_);
    if (seen_.insert(std::move(key)).second) next_.push_back(std::move(url));
  }

  [[nodiscard]] std::vector<Url> take_next_level() {
    std::lock_guard lock(mutex_);
    return std::exchange(next_, {});
  }

 private:
  // A std::mutex, not a weft::Mutex: it is held for one hash-set insert, never across a
  // co_await, so a loop that waits for it waits nanoseconds.
  std::mutex mutex_;
  std::unordered_set<std::string> seen_;
  std::vector<Url> next_;
};

// Incremented by tasks on every loop, read once every task has been joined (the joins order
// those reads after the increments), so relaxed increments are enough.
using Counter = std::atomic<unsigned long long>;
struct Counters {
  Counter pages{0}, errors{0}, links{0}, skipped{0}, bytes{0};
};
void count(Counter& counter, unsigned long long n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}
unsigned long long total(const Counter& counter) { return counter.load(std::memory_order_relaxed); }

struct Crawl {
  Crawl(const Url& start_url, const scraper::Options& options)
      : start(start_url),
        max_depth(options.max_depth),
        list(options.list),
        // The semaphore is the limit; the client's pool is as wide so that it never binds (its
        // idle cap follows the connection cap).
        client({.max_connections_per_host = options.concurrency, .total_timeout = options.timeout}),
        permits(options.concurrency),
        frontier(start_url) {}

  const Url start;
  const int max_depth;
  const bool list;
  weft::http::Client client;
  weft::Semaphore permits;
  Frontier frontier;
  Counters counters;
};

// --- one page --------------------------------------------------------------------------------

// One GET while holding a permit: at most --concurrency requests in flight, however many
// tasks are waiting. The parsing that follows holds none.
weft::Task<ClientResponse> fetch(Crawl& crawl, std::string url) {
  auto permit = co_await crawl.permits.scoped();
  co_return co_await crawl.client.get(std::move(url));
}

// Only HTML has links to follow: "text/html; charset=utf-8" does, text/plain or a PNG does not.
bool is_html(const ClientResponse& page) {
  std::string_view type = page.headers.find("Content-Type").value_or("");
  type = type.substr(0, type.find(';'));
  while (type.ends_with(' ')) type.remove_suffix(1);
  return weft::http::iequals(type, "text/html");
}

void report_error(Crawl& crawl, const Url& url, const std::string& reason) {
  count(crawl.counters.errors);
  std::printf("error %s: %s\n", url.to_string().c_str(), reason.c_str());
}

// Everything a page costs in CPU, on a to_thread worker rather than an event loop: parsing
// it, then resolving and looking up each link. python3-doc's largest pages are megabytes with
// over 10,000 links each: tens of milliseconds of work, during which a loop would serve
// nothing else.
void queue_links(Crawl& crawl, const Url& page, std::string_view html) {
  const std::vector<std::string> hrefs = scraper::html_links(html);
  count(crawl.counters.links, hrefs.size());
  for (const std::string& href : hrefs) {
    if (std::optional<Url> target = follow(crawl.start, page, href))
      crawl.frontier.add(std::move(*target));
    else
      count(crawl.counters.skipped);
  }
}

weft::Task<void> visit(Crawl& crawl, Url url, int depth) {
  ClientResponse page;
  try {
    page = co_await fetch(crawl, url.to_string());
  } catch (const weft::http::ClientError& e) {  // refused, timed out, cut off, malformed...
    report_error(crawl, url, e.what());
    co_return;
  }
  if (page.status != 200) {
    report_error(crawl, url, "HTTP " + std::to_string(page.status) + " " + page.reason);
    co_return;
  }
  count(crawl.counters.pages);
  count(crawl.counters.bytes, page.body.size());
  if (crawl.list)
    std::printf("page %d %d %zu %s\n", depth, page.status, page.body.size(),
                url.to_string().c_str());

  // Links lead a level deeper: none are read at the last level, nor in what is not HTML. After
  // a redirect, links are relative to where the page ended up, which may be off the site.
  if (depth == crawl.max_depth || !is_html(page)) co_return;
  const Url here = Url::parse(page.url);
  if (!here.same_origin(crawl.start)) co_return;
  co_await weft::to_thread(queue_links, std::ref(crawl), here, std::move(page.body));
}

// --- the crawl -------------------------------------------------------------------------------

// Level by level: every page at depth d is fetched, concurrently, before any at d + 1. So a
// page one click from the start that is also two clicks away always has depth 1, whichever
// fetch ends first, and --max-depth cuts the crawl at the same place on every run. The price:
// each level waits for its slowest page before the next starts.
weft::Task<void> crawl_site(Crawl& crawl) {
  int depth = 0;
  for (std::vector<Url> level = crawl.frontier.take_next_level(); !level.empty();
       level = crawl.frontier.take_next_level(), ++depth) {
    co_await weft::with_task_group([&](weft::TaskGroup& group) -> weft::Task<void> {
      for (Url& url : level) group.spawn(visit(crawl, std::move(url), depth));
      co_return;
    });
  }
}

void print_summary(const Crawl& crawl, double seconds, const scraper::Options& options) {
  const Counters& c = crawl.counters;
  const double per_second = static_cast<double>(total(c.pages)) / seconds;
  const unsigned loops = weft::loop_count();
  std::printf(
      "summary: pages=%llu errors=%llu links=%llu skipped=%llu bytes=%llu seconds=%.3f "
      "pages_per_s=%.1f loops=%u concurrency=%zu\n",
      total(c.pages), total(c.errors), total(c.links), total(c.skipped), total(c.bytes), seconds,
      per_second, loops, options.concurrency);
  std::printf(
      "Crawled %llu pages (%.1f MB) in %.2f s: %.0f pages/s, %zu at a time on %u loop%s. %llu "
      "failed. %llu of the %llu links found were not followed (another site, or not http or "
      "https).\n",
      total(c.pages), static_cast<double>(total(c.bytes)) / 1e6, seconds, per_second,
      options.concurrency, loops, loops == 1 ? "" : "s", total(c.errors), total(c.skipped),
      total(c.links));
}

weft::Task<int> crawl_and_report(Url start, scraper::Options options) {
  Crawl crawl(start, options);
  std::printf("crawling %s (max depth %d, %zu fetches at a time)\n", start.to_string().c_str(),
              options.max_depth, options.concurrency);
  const auto started = std::chrono::steady_clock::now();
  co_await crawl_site(crawl);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  co_await crawl.client.close();
  print_summary(crawl, took.count(), options);
  co_return 0;
}

weft::Task<int> main_task(scraper::Options options) {
  if (options.url) co_return co_await crawl_and_report(*options.url, options);
  std::printf("serving %s on 127.0.0.1\n", options.serve_dir.c_str());
  co_return co_await weft::with_resource(
      scraper::LocalSite(options.serve_dir),
      [&options](scraper::LocalSite& site) { return crawl_and_report(site.index(), options); });
}

int main(int argc, char** argv) {
  const scraper::Options options = scraper::parse_command_line(argc, argv);
  if (!options.url && !std::filesystem::is_directory(options.serve_dir)) {
    std::fprintf(stderr,
                 "weft_tutorial_web_scraper: %s is missing: install Debian's python3-doc, or give "
                 "a URL or --serve DIR\n",
                 options.serve_dir.c_str());
    return 1;
  }
  return weft::run(main_task(options), {.loops = options.loops});
}
