#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <regex>
#include <string_view>
#include <system_error>

namespace weft::bench {

namespace {

// 1024: more loops than any machine this runs on has cores; a typo like 10000 is refused.
constexpr unsigned kMaxLoops = 1024;
constexpr unsigned kMaxRepetitions = 1000;

bool parse_unsigned(std::string_view text, unsigned& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::variant<std::vector<unsigned>, UsageError> parse_loops(std::string_view text) {
  std::vector<unsigned> loops;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    unsigned n = 0;
    if (!parse_unsigned(item, n) || n == 0 || n > kMaxLoops)
      return UsageError{"--loops takes a comma-separated list of loop counts from 1 to " +
                        std::to_string(kMaxLoops) + ", not '" + std::string(item) + "'"};
    if (std::find(loops.begin(), loops.end(), n) == loops.end()) loops.push_back(n);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(loops.begin(), loops.end());
  return loops;
}

}  // namespace

const char* usage_text() {
  return "usage: weft-bench [options]\n"
         "\n"
         "Runs weft's benchmark suite: every scenario at 1 loop and at N loops, and prints\n"
         "what the extra loops bought (speedup, efficiency) and how close weft came to a\n"
         "baseline or to the machine's limit.\n"
         "\n"
         "  --loops LIST        loop counts to compare, e.g. 1,2,4,8 (default: 1 and the\n"
         "                      number of usable cores)\n"
         "  --repetitions N     measured repetitions per scenario and loop count (default 5;\n"
         "                      1 with --quick); each also gets one unmeasured warm-up\n"
         "  --filter REGEX      only scenarios whose id matches (ECMAScript regex, searched\n"
         "                      anywhere in the id, e.g. 'io/' or 'spawn|yield')\n"
         "  --list              list the scenarios (id, unit, size) and exit\n"
         "  --quick             a seconds-long smoke run: small sizes, 1 repetition; the\n"
         "                      figures are not meaningful\n"
         "  --json FILE         write every repetition, the medians and the machine as JSON\n"
         "  --plot FILE         write the scaling of every scenario as an SVG chart\n"
         "  --verbose           add the runtime's counters per operation (steals, parks,\n"
         "                      wake-ups) and every side figure to the table\n"
         "  --help              this text\n";
}

std::variant<CommandLine, UsageError> parse_command_line(int argc, char** argv, unsigned cores) {
  CommandLine cl;
  cl.suite.loops = cores > 1 ? std::vector<unsigned>{1, cores} : std::vector<unsigned>{1};
  bool repetitions_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    // Both "--flag value" and "--flag=value".
    if (const std::size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != arg.npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take_value = [&](std::string_view flag) -> std::variant<std::string_view, UsageError> {
      if (has_value) return value;
      if (i + 1 >= argc) return UsageError{std::string(flag) + " needs a value"};
      return std::string_view(argv[++i]);
    };
    auto no_value = [&]() -> std::optional<UsageError> {
      if (has_value) return UsageError{std::string(arg) + " takes no value"};
      return std::nullopt;
    };
    if (arg == "--loops" || arg == "--repetitions" || arg == "--filter" || arg == "--json" ||
        arg == "--plot") {
      auto v = take_value(arg);
      if (auto* e = std::get_if<UsageError>(&v)) return *e;
      const std::string_view text = std::get<std::string_view>(v);
      if (arg == "--loops") {
        auto loops = parse_loops(text);
        if (auto* e = std::get_if<UsageError>(&loops)) return *e;
        cl.suite.loops = std::get<std::vector<unsigned>>(std::move(loops));
      } else if (arg == "--repetitions") {
        unsigned n = 0;
        if (!parse_unsigned(text, n) || n == 0 || n > kMaxRepetitions)
          return UsageError{"--repetitions takes a number from 1 to " +
                            std::to_string(kMaxRepetitions) + ", not '" + std::string(text) + "'"};
        cl.suite.repetitions = n;
        repetitions_given = true;
      } else if (arg == "--filter") {
        try {
          std::regex check{std::string(text)};
        } catch (const std::regex_error& e) {
          return UsageError{"--filter: '" + std::string(text) + "' is not a valid regex (" +
                            e.what() + ")"};
        }
        cl.suite.filter = text;
      } else if (text.empty()) {
        return UsageError{std::string(arg) + " needs a file name"};
      } else if (arg == "--json") {
        cl.json_path = text;
      } else {
        cl.plot_path = text;
      }
    } else if (arg == "--list" || arg == "--quick" || arg == "--verbose" || arg == "--help" ||
               arg == "-h") {
      if (auto e = no_value()) return *e;
      if (arg == "--list") cl.list = true;
      if (arg == "--quick") cl.suite.quick = true;
      if (arg == "--verbose") cl.suite.verbose = true;
      if (arg == "--help" || arg == "-h") cl.help = true;
    } else {
      return UsageError{"unknown argument '" + std::string(argv[i]) + "'"};
    }
  }
  if (cl.suite.quick && !repetitions_given) cl.suite.repetitions = 1;
  return cl;
}

}  // namespace weft::bench
