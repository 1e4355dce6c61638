#pragma once

// The four ways weft-bench shows a SuiteResult. Each only reads it.

#include <cstdio>
#include <string>

#include "results.hpp"

namespace weft::bench {

// The machine, build and load lines printed above the table.
void print_header(std::FILE* out, const SuiteResult& result);

// Per scenario: the figure at each loop count (median ± half-range), speedup and efficiency
// of the most loops, and the ratio to the baseline or limit; then the side figures.
void print_table(std::FILE* out, const SuiteResult& result);

// Throws std::runtime_error naming the file if it cannot be written.
void write_json(const std::string& path, const SuiteResult& result);
void write_svg(const std::string& path, const SuiteResult& result);

// One paragraph saying what the numbers mean on this machine (summary.cpp).
std::string summarize(const SuiteResult& result);

// 4.01M, 165k, 980, 12.3, 0.042: three significant digits with an SI suffix.
std::string format_number(double value);

}  // namespace weft::bench
