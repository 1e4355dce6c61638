// tutorial/web_scraper: the asyncio tutorial's last program, examples/tutorial/
// 14_web_scraper.cpp, run as it is: a child process that serves Python's documentation
// (Debian's python3-doc) with weft's static file server on loopback and crawls it with
// weft::http::Client under a Semaphore(5), parsing every page with libxml2 — server, client
// and parsing all on the same L loops. The value is the scraper's own pages/s (its summary
// line times the crawl alone, not the process start or the server's setup).
//
// The crawl is depth-limited so a repetition takes about a second: a fixed workload (every
// page within 3 links of index.html), the same in every run and at every loop count, which the
// check on the page count enforces. scripts/bench-scraper compares the full crawl with the
// tutorial's Python scraper.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "scenario.hpp"

namespace weft::bench {

#ifdef WEFT_BENCH_SCRAPER_PATH

namespace {

// The value of `key=` in the scraper's "summary: pages=... pages_per_s=..." line.
double summary_field(const std::string& output, const std::string& key) {
  const std::size_t line = output.rfind("summary:");
  if (line == std::string::npos) throw std::runtime_error("the scraper printed no summary line");
  const std::size_t at = output.find(" " + key + "=", line);
  if (at == std::string::npos)
    throw std::runtime_error("the scraper's summary line has no " + key + "=");
  return std::stod(output.substr(at + key.size() + 2));
}

struct Crawl {
  double pages_per_s = 0;
  double pages = 0;
  double errors = 0;
};

Crawl crawl_once(const RunConfig& config, unsigned depth) {
  ChildProcess scraper(WEFT_BENCH_SCRAPER_PATH, {"--max-depth", std::to_string(depth), "--loops",
                                                 std::to_string(config.loops)});
  // The scraper reports its own crawl time, so how promptly this notices the exit does not
  // matter; 60 s is far beyond any crawl of the depth-limited site.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (scraper.running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      (void)scraper.stop();
      throw std::runtime_error("the scraper did not finish in 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!scraper.exit_status().clean())
    throw std::runtime_error(scraper.command() + " " + scraper.exit_status().describe() +
                             "; its stderr: " + scraper.stderr_text());
  const std::string out = scraper.stdout_text();
  return {summary_field(out, "pages_per_s"), summary_field(out, "pages"),
          summary_field(out, "errors")};
}

std::vector<Measurement> run_web_scraper(const RunConfig& config) {
  const unsigned depth = config.quick ? 1 : 3;
  if (config.progress) config.progress("warm-up");
  const Crawl warm = crawl_once(config, depth);  // also fills the page cache with the site
  std::vector<Measurement> out;
  for (unsigned rep = 1; rep <= config.repetitions; ++rep) {
    if (config.progress)
      config.progress("rep " + std::to_string(rep) + "/" + std::to_string(config.repetitions));
    const Crawl c = crawl_once(config, depth);
    // Debian ships whatsnew/changelog.html gzipped, so index.html's link to it is a 404 on
    // every crawl: errors are part of the fixed workload, as long as they do not change.
    if (c.pages != warm.pages || c.errors != warm.errors)
      throw std::runtime_error(
          "the crawl is not the same from one run to the next: " + std::to_string(c.pages) +
          " pages and " + std::to_string(c.errors) + " errors, against " +
          std::to_string(warm.pages) + " and " + std::to_string(warm.errors) + " the first time");
    Measurement m;
    m.value = c.pages_per_s;
    m.extras["pages"] = c.pages;
    m.extras["errors"] = c.errors;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void add_web_scraper_scenarios(std::vector<Scenario>& out) {
  out.push_back({
      .id = "tutorial/web_scraper",
      .group = "tutorial",
      .title = "web scraper (python3-doc)",
      .unit = "pages/s",
      .size = "python3-doc to depth 3 from index.html, Semaphore(5)",
      .shown_extras = {"pages", "errors"},
      .run = run_web_scraper,
  });
}

#else

// Built without the examples (WEFT_BUILD_EXAMPLES=OFF): there is no scraper to run.
void add_web_scraper_scenarios(std::vector<Scenario>&) {}

#endif

}  // namespace weft::bench
