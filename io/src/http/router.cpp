#include "weft/http/router.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace weft::http {

// A trie over path segments. Each node has literal children (exact segment), at most one
// parameter child ("{name}") and at most one tail handler set ("*"); handlers are per method.
// Matching tries literal, then parameter, then tail at each segment, backtracking, so the
// most specific pattern wins whatever the order of add().
namespace {

// Equality for the short strings routing compares (methods, paths): a byte loop, which for a
// few bytes costs less than a call to memcmp.
bool same(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::vector<std::pair<std::string, Handler>> handlers;       // pattern ends here
  std::vector<std::pair<std::string, Handler>> tail_handlers;  // "*" here

  // Only in the root: the nodes of the patterns made of literal segments only, by pattern.
  // A path equal to one of them ends there whatever the other patterns (literal segments
  // win), so match() finds it here without walking the trie.
  std::vector<std::pair<std::string, const Node*>> exact;

  Node* literal(std::string_view segment) const noexcept {
    for (const auto& [text, child] : literals) {
      if (text == segment) return child.get();
    }
    return nullptr;
  }

  const Node* exact_match(std::string_view path) const noexcept {
    for (const auto& [pattern, node] : exact) {
      if (same(pattern, path)) return node;
    }
    return nullptr;
  }
};

namespace {

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

// Splits "/a/b/" into {"a", "b", ""}: a trailing slash is a segment of its own, so "/a" and
// "/a/" are different routes, as they are different URLs.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;  // after the leading '/'
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

const Handler* find_method(const std::vector<std::pair<std::string, Handler>>& handlers,
                           std::string_view method) noexcept {
  for (const auto& [m, h] : handlers) {
    if (same(m, method)) return &h;
  }
  return nullptr;
}

void collect_methods(const std::vector<std::pair<std::string, Handler>>& handlers,
                     std::vector<std::string>& out) {
  for (const auto& entry : handlers) {
    if (std::find(out.begin(), out.end(), entry.first) == out.end()) out.push_back(entry.first);
  }
}

// The handler list where `path` ends (exact, or under a tail), with params; depth-first.
struct Found {
  const std::vector<std::pair<std::string, Handler>>* handlers = nullptr;
  ServerRequest::Params params;
};

// Depth-first over the segments of `path` from `offset` (the start of the current segment;
// path.size() + 1 once every segment is consumed). Splits as it goes: no allocation.
bool walk(const Router::Node* node, std::string_view path, std::size_t offset, Found& found) {
  for (;;) {
    if (offset > path.size()) {
      if (!node->handlers.empty()) {
        found.handlers = &node->handlers;
        return true;
      }
      return false;
    }
    std::size_t slash = path.find('/', offset);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(offset, slash - offset);
    const Router::Node* child = node->literal(seg);
    if (!node->param && node->tail_handlers.empty()) {
      // Only literal children: nothing to backtrack to, so the child is walked without
      // recursing (a path of literal segments costs one call).
      if (child == nullptr) return false;
      node = child;
      offset = slash + 1;
      continue;
    }
    if (child != nullptr && walk(child, path, slash + 1, found)) return true;
    if (node->param && !seg.empty()) {
      found.params.emplace_back(node->param_name, seg);
      if (walk(node->param.get(), path, slash + 1, found)) return true;
      found.params.pop_back();
    }
    if (!node->tail_handlers.empty()) {
      found.params.emplace_back("*", path.substr(offset));
      found.handlers = &node->tail_handlers;
      return true;
    }
    return false;
  }
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  if (!is_token(method))
    throw std::invalid_argument("weft::http::Router: method '" + std::string(method) +
                                "' is not a token");
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("weft::http::Router: pattern '" + std::string(pattern) +
                                "' does not start with '/'");
  if (!handler) throw std::invalid_argument("weft::http::Router: empty handler");
  const std::vector<std::string_view> segs = segments(pattern);
  Node* node = root_.get();
  bool literal_only = true;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string_view seg = segs[i];
    if (seg == "*") {
      if (i + 1 != segs.size())
        throw std::invalid_argument("weft::http::Router: '*' must be the last segment of '" +
                                    std::string(pattern) + "'");
      if (find_method(node->tail_handlers, method) != nullptr)
        throw std::logic_error("weft::http::Router: " + std::string(method) + " " +
                               std::string(pattern) + " is already routed");
      node->tail_handlers.emplace_back(std::string(method), std::move(handler));
      return;
    }
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      const std::string_view name = seg.substr(1, seg.size() - 2);
      if (name.empty())
        throw std::invalid_argument("weft::http::Router: empty parameter name in '" +
                                    std::string(pattern) + "'");
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = std::string(name);
      } else if (node->param_name != name) {
        throw std::invalid_argument("weft::http::Router: parameter {" + std::string(name) +
                                    "} conflicts with {" + node->param_name + "} in '" +
                                    std::string(pattern) + "'");
      }
      node = node->param.get();
      literal_only = false;
      continue;
    }
    Node* child = node->literal(seg);
    if (child == nullptr) {
      node->literals.emplace_back(std::string(seg), std::make_unique<Node>());
      child = node->literals.back().second.get();
    }
    node = child;
  }
  if (find_method(node->handlers, method) != nullptr)
    throw std::logic_error("weft::http::Router: " + std::string(method) + " " +
                           std::string(pattern) + " is already routed");
  node->handlers.emplace_back(std::string(method), std::move(handler));
  if (literal_only && root_->exact_match(pattern) == nullptr)
    root_->exact.emplace_back(std::string(pattern), node);
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (path.empty() || path.front() != '/') {
    m.status = 404;
    return m;
  }
  Found found;
  if (const Node* node = root_->exact_match(path)) {
    found.handlers = &node->handlers;
  } else if (!walk(root_.get(), path, 1, found)) {
    m.status = 404;
    return m;
  }
  const auto& handlers = *found.handlers;
  const Handler* h = find_method(handlers, method);
  if (h == nullptr && method == "HEAD") h = find_method(handlers, "GET");
  if (h != nullptr) {
    m.handler = h;
    m.params = std::move(found.params);
    return m;
  }
  std::vector<std::string> methods;
  collect_methods(handlers, methods);
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
      std::find(methods.begin(), methods.end(), "HEAD") == methods.end())
    methods.emplace_back("HEAD");
  std::sort(methods.begin(), methods.end());
  m.status = 405;
  for (const std::string& name : methods) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += name;
  }
  return m;
}

}  // namespace weft::http
