#include "results.hpp"

#include <algorithm>

namespace weft::bench {

std::optional<Spread> spread_of(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return Spread{median, values.front(), values.back(), n};
}

std::optional<Spread> ConfigResult::value() const {
  if (!ok()) return std::nullopt;
  std::vector<double> v;
  for (const Measurement& m : repetitions) v.push_back(m.value);
  return spread_of(std::move(v));
}

std::optional<Spread> ConfigResult::reference() const {
  if (!ok()) return std::nullopt;
  std::vector<double> v;
  for (const Measurement& m : repetitions)
    if (m.reference) v.push_back(*m.reference);
  return spread_of(std::move(v));
}

std::optional<Spread> ConfigResult::extra(const std::string& name) const {
  if (!ok()) return std::nullopt;
  std::vector<double> v;
  for (const Measurement& m : repetitions) {
    auto it = m.extras.find(name);
    if (it != m.extras.end()) v.push_back(it->second);
  }
  return spread_of(std::move(v));
}

std::optional<Spread> ConfigResult::reference_ratio() const {
  if (!ok()) return std::nullopt;
  std::vector<double> v;
  for (const Measurement& m : repetitions)
    if (m.reference && *m.reference > 0) v.push_back(m.value / *m.reference);
  return spread_of(std::move(v));
}

const ConfigResult* ScenarioResult::base() const noexcept {
  const ConfigResult* best = nullptr;
  for (const ConfigResult& c : configs)
    if (c.ok() && (best == nullptr || c.loops < best->loops)) best = &c;
  return best;
}

std::optional<double> ScenarioResult::speedup(const ConfigResult& config) const {
  const ConfigResult* b = base();
  if (b == nullptr || !config.ok()) return std::nullopt;
  const double base_value = b->value()->median;
  if (base_value <= 0) return std::nullopt;
  return config.value()->median / base_value;
}

std::optional<double> ScenarioResult::efficiency(const ConfigResult& config) const {
  const std::optional<double> s = speedup(config);
  if (!s) return std::nullopt;
  return *s * base()->loops / config.loops;
}

bool ScenarioResult::failed() const noexcept {
  return std::any_of(configs.begin(), configs.end(),
                     [](const ConfigResult& c) { return !c.error.empty(); });
}

}  // namespace weft::bench
