#pragma once

// weft-bench's command line. Parsing never exits: a bad flag comes back as an error message
// for main() to print above the usage, with exit status 2.

#include <string>
#include <variant>

#include "results.hpp"

namespace weft::bench {

struct CommandLine {
  SuiteOptions suite;
  bool list = false;
  bool help = false;
  std::string json_path;  // empty: no JSON
  std::string plot_path;  // empty: no SVG
};

struct UsageError {
  std::string message;
};

// `cores` is the default N of --loops (1,N).
std::variant<CommandLine, UsageError> parse_command_line(int argc, char** argv, unsigned cores);

const char* usage_text();

}  // namespace weft::bench
