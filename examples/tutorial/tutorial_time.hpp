#pragma once

// Time in the asyncio tutorial's examples. The programs wait in tutorial seconds ("each user
// takes 1 s to fetch"), and WEFT_EXAMPLE_TIME_SCALE shrinks every wait by one factor: 0.01
// turns 1 s into 10 ms, so the tests run each example in a fraction of a second while the
// program, its ordering and its printed figures stay those of the tutorial. Elapsed times are
// printed back in tutorial seconds (measured time / scale), so "took 1.01 s" reads the same
// at any scale, and a test can check it against the waits the example made.
//
// Not part of weft: each example includes it to stay runnable at full speed by hand and fast
// under ctest.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tutorial {

// Line-buffered stdout, set before main() runs: when a test stops a hung example it still gets
// every line printed so far, and the lines stay in order with weft's reports on stderr.
inline const bool stdout_is_line_buffered = std::setvbuf(stdout, nullptr, _IOLBF, 0) == 0;

// The factor from WEFT_EXAMPLE_TIME_SCALE (default 1). A value that is not a number in
// (0, 1000] is refused with a message, not ignored: a test must never run at a scale it did
// not ask for.
inline double time_scale() {
  static const double scale = [] {
    const char* text = std::getenv("WEFT_EXAMPLE_TIME_SCALE");
    if (text == nullptr || *text == '\0') return 1.0;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(value > 0 && value <= 1000)) {
      std::fprintf(stderr, "WEFT_EXAMPLE_TIME_SCALE='%s' is not a number in (0, 1000]\n", text);
      std::exit(2);
    }
    return value;
  }();
  return scale;
}

// A wait of `tutorial_time`, scaled: co_await weft::sleep(tutorial::scaled(1s)).
inline std::chrono::nanoseconds scaled(std::chrono::duration<double> tutorial_time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(tutorial_time * time_scale());
}

// Measures wall time and reports it in tutorial seconds.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  [[nodiscard]] double seconds() const {
    const std::chrono::duration<double> real = std::chrono::steady_clock::now() - start_;
    return real.count() / time_scale();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tutorial
