// --json FILE: everything the run measured, for scripts and for comparing machines. Schema
// "weft-bench/1": every repetition of every configuration (value, reference, side figures),
// the medians and ranges derived from them, the machine, the build and the options. A figure
// that does not exist (a failed configuration, a scenario without reference) is null, never
// left out, so a reader can rely on every key being present. One exception, per repetition:
// a side figure this run could not measure (server CPU of fewer than kMinCpuTicks clock
// ticks, as in a --quick window) is absent from that repetition's "extras", never written as 0; its
// "extras_median" is then the median of the repetitions that have it, or null if none has.
// Spreads: "min" and "max" are over the repetitions, so with one repetition they equal the
// median and say nothing about the spread.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "report.hpp"

namespace weft::bench {

namespace {

// A minimal streaming writer: the caller opens and closes objects and arrays; the writer
// places the commas.
class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  JsonWriter& key(const std::string& k) {
    separate();
    string_literal(k);
    out_ << ':';
    after_key_ = true;
    return *this;
  }
  void value(const std::string& s) {
    separate();
    string_literal(s);
  }
  void value(const char* s) { value(std::string(s)); }
  void value(bool b) {
    separate();
    out_ << (b ? "true" : "false");
  }
  void value(double d) {
    separate();
    if (!std::isfinite(d)) {
      out_ << "null";  // JSON has no NaN or infinity
      return;
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", d);
    out_ << buf;
  }
  void value(unsigned long long n) {
    separate();
    out_ << n;
  }
  void value(unsigned n) { value(static_cast<unsigned long long>(n)); }
  void null() {
    separate();
    out_ << "null";
  }
  void value(const std::optional<double>& d) {
    if (d) {
      value(*d);
    } else {
      null();
    }
  }

 private:
  void open(char c) {
    separate();
    out_ << c;
    first_ = true;
  }
  void close(char c) {
    out_ << c;
    first_ = false;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ << ',';
    first_ = false;
  }
  void string_literal(const std::string& s) {
    out_ << '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out_ << "\\\"";
          break;
        case '\\':
          out_ << "\\\\";
          break;
        case '\n':
          out_ << "\\n";
          break;
        case '\t':
          out_ << "\\t";
          break;
        case '\r':
          out_ << "\\r";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ << buf;
          } else {
            out_ << c;  // UTF-8 passes through unchanged
          }
      }
    }
    out_ << '"';
  }

  std::ostream& out_;
  bool first_ = true;
  bool after_key_ = false;
};

std::optional<double> median_of(const std::optional<Spread>& s) {
  if (!s) return std::nullopt;
  return s->median;
}

const char* kind_name(ReferenceKind k) {
  switch (k) {
    case ReferenceKind::baseline:
      return "baseline";
    case ReferenceKind::limit:
      return "limit";
    case ReferenceKind::none:
      break;
  }
  return "none";
}

void write_config(JsonWriter& w, const Scenario& s, const ConfigResult& c) {
  w.begin_object();
  w.key("loops").value(c.loops);
  w.key("ok").value(c.ok());
  w.key("error");
  if (c.error.empty()) {
    w.null();
  } else {
    w.value(c.error);
  }
  w.key("seconds").value(c.seconds);
  w.key("repetitions").begin_array();
  std::set<std::string> extra_names;
  for (const Measurement& m : c.repetitions) {
    w.begin_object();
    w.key("value").value(m.value);
    w.key("reference").value(m.reference);
    w.key("extras").begin_object();
    for (const auto& [name, v] : m.extras) {
      w.key(name).value(v);
      extra_names.insert(name);
    }
    w.end_object();
    w.end_object();
  }
  w.end_array();
  const std::optional<Spread> v = c.value();
  w.key("median").value(median_of(v));
  w.key("min").value(v ? std::optional<double>(v->min) : std::nullopt);
  w.key("max").value(v ? std::optional<double>(v->max) : std::nullopt);
  w.key("reference_median").value(median_of(c.reference()));
  w.key("reference_ratio_median").value(median_of(c.reference_ratio()));
  for (const std::string& name : s.shown_extras) extra_names.insert(name);
  w.key("extras_median").begin_object();
  for (const std::string& name : extra_names) w.key(name).value(median_of(c.extra(name)));
  w.end_object();
  w.end_object();
}

void write_scenario(JsonWriter& w, const ScenarioResult& sr) {
  const Scenario& s = *sr.scenario;
  w.begin_object();
  w.key("id").value(s.id);
  w.key("group").value(s.group);
  w.key("title").value(s.title);
  w.key("unit").value(s.unit);
  w.key("size").value(s.size);
  w.key("axis").value(s.axis);
  w.key("reference");
  if (s.reference_kind == ReferenceKind::none) {
    w.null();
  } else {
    w.begin_object();
    w.key("kind").value(kind_name(s.reference_kind));
    w.key("label").value(s.reference_label);
    w.end_object();
  }
  w.key("configs").begin_array();
  for (const ConfigResult& c : sr.configs) write_config(w, s, c);
  w.end_array();
  // Speedup and efficiency of the most loops over the fewest that worked.
  std::optional<double> speedup, efficiency;
  if (sr.configs.size() > 1) {
    speedup = sr.speedup(sr.configs.back());
    efficiency = sr.efficiency(sr.configs.back());
  }
  w.key("speedup").value(speedup);
  w.key("efficiency").value(efficiency);
  w.end_object();
}

}  // namespace

void write_json(const std::string& path, const SuiteResult& r) {
  std::ostringstream text;
  JsonWriter w(text);
  w.begin_object();
  w.key("schema").value("weft-bench/1");
  w.key("started_utc").value(r.started_utc);
  w.key("seconds").value(r.seconds);
  w.key("load_average").begin_object();
  w.key("before").value(r.load_before);
  w.key("after").value(r.load_after);
  w.end_object();
  const Machine& m = r.machine;
  w.key("machine").begin_object();
  w.key("cpu_model").value(m.cpu_model);
  w.key("logical_cpus").value(m.logical_cpus);
  w.key("usable_cpus").value(m.usable_cpus);
  w.key("kernel").value(m.kernel);
  w.key("memory_bytes").value(static_cast<unsigned long long>(m.memory_bytes));
  w.end_object();
  w.key("build").begin_object();
  w.key("git_commit").value(m.git_commit);
  w.key("compiler").value(m.compiler);
  w.key("build_type").value(m.build_type);
  w.end_object();
  w.key("options").begin_object();
  w.key("loops").begin_array();
  for (unsigned n : r.options.loops) w.value(n);
  w.end_array();
  w.key("repetitions").value(r.options.repetitions);
  w.key("quick").value(r.options.quick);
  w.key("filter").value(r.options.filter);
  w.end_object();
  w.key("scenarios").begin_array();
  for (const ScenarioResult& sr : r.scenarios) write_scenario(w, sr);
  w.end_array();
  w.key("summary").value(r.summary);
  w.end_object();
  text << '\n';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text.str();
  out.close();
  if (!out) throw std::runtime_error("cannot write the JSON to " + path);
}

}  // namespace weft::bench
