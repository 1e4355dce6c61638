// weft::http::Client: one request from URL to owned response — validation, the request head,
// the exchange on a leased connection (with the one retry a dead pooled connection allows),
// redirects, and the total timeout around it all. The contract is in client.hpp; the pool
// in client_pool.hpp.
//
// Layers, outermost first, each a coroutine awaited by the one above:
//   run_request   parses and checks the request; the total_timeout scope (weft::wait_for)
//   follow        one exchange per hop; decides whether and where to redirect
//   exchange      leases a connection; retries once on a new one if a pooled one was dead
//   transfer      writes the request, reads the response (each read under read_timeout),
//                 gives the connection back if the response allows it
// A failure or cancel anywhere unwinds through transfer's Lease, which closes the connection.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/http/detail/message_reader.hpp>
#include <weft/http/response_parser.hpp>

#include "client_pool.hpp"

namespace weft::http {

// --- HeaderList -----------------------------------------------------------------------------

std::optional<std::string_view> HeaderList::find(std::string_view name) const noexcept {
  for (const HeaderField& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> HeaderList::find_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const HeaderField& f : fields_) {
    if (iequals(f.name, name)) out.push_back(f.value);
  }
  return out;
}

std::size_t HeaderList::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const HeaderField& f : fields_) n += iequals(f.name, name) ? 1 : 0;
  return n;
}

bool HeaderList::has_token(std::string_view name, std::string_view token) const noexcept {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  for (const HeaderField& f : fields_) {
    if (!iequals(f.name, name)) continue;
    std::string_view rest = f.value;
    for (;;) {
      const auto comma = rest.find(',');
      if (iequals(trim(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

void HeaderList::add(std::string name, std::string value) {
  fields_.push_back({std::move(name), std::move(value)});
}

void HeaderList::set(std::string name, std::string value) {
  const auto same = [&name](const HeaderField& f) { return iequals(f.name, name); };
  const auto first = std::find_if(fields_.begin(), fields_.end(), same);
  if (first == fields_.end()) {
    add(std::move(name), std::move(value));
    return;
  }
  fields_.erase(std::remove_if(first + 1, fields_.end(), same), fields_.end());
  // `first` is still valid: only elements after it were erased.
  *first = {std::move(name), std::move(value)};
}

std::size_t HeaderList::remove(std::string_view name) noexcept {
  return std::erase_if(fields_, [name](const HeaderField& f) { return iequals(f.name, name); });
}

// --- one request ----------------------------------------------------------------------------

namespace {

using detail::ClientConnection;
using detail::ClientState;
using detail::Lease;

// One read's buffer; the parser copies into its own. A guess: a few reads for a typical page.
constexpr std::size_t kReadChunk = 32 * 1024;
// Bodies up to this size are copied behind the head and sent in one write; larger ones are
// written from the caller's string after it. A guess: a copy is cheaper than a syscall below.
constexpr std::size_t kInlineBody = 64 * 1024;

// RFC 9110 9.2.2.
bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

// Methods whose request content has a defined meaning: a user agent sends Content-Length: 0
// for them even without a body (RFC 9110 8.6).
bool defines_content(std::string_view method) noexcept {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

void validate(const std::string& method, const HeaderList& headers, const std::string& body) {
  const std::string who = "weft::http::Client: ";
  if (!detail::is_token(method))
    throw std::invalid_argument(who + "the method \"" + method + "\" is not an HTTP token");
  for (const HeaderField& f : headers) {
    if (!detail::is_token(f.name))
      throw std::invalid_argument(who + "the header name \"" + f.name + "\" is not an HTTP token");
    for (char c : f.value) {
      if (!detail::is_field_value_char(static_cast<unsigned char>(c)))
        throw std::invalid_argument(who + "control character in the value of " + f.name);
    }
  }
  if (headers.contains("Transfer-Encoding"))
    throw std::invalid_argument(who +
                                "request bodies are sent with Content-Length; "
                                "Transfer-Encoding is not supported");
  if (const auto length = headers.find("Content-Length")) {
    if (headers.count("Content-Length") != 1 || *length != std::to_string(body.size()))
      throw std::invalid_argument(who + "Content-Length " + std::string(*length) +
                                  " is not the body's size, " + std::to_string(body.size()));
  }
}

// The request line and header section. The caller's fields replace the defaults of the same
// name; they were validated, and the target is visible ASCII (Url), so nothing can inject.
std::string request_head(const std::string& method, const Url& url, const HeaderList& headers,
                         std::size_t body_size, const ClientOptions& options) {
  std::string head;
  head.reserve(64 + url.target().size() + headers.size() * 32);
  head.append(method).append(" ").append(url.target()).append(" HTTP/1.1\r\n");
  if (!headers.contains("Host")) head.append("Host: ").append(url.authority()).append("\r\n");
  if (!options.user_agent.empty() && !headers.contains("User-Agent"))
    head.append("User-Agent: ").append(options.user_agent).append("\r\n");
  for (const HeaderField& f : headers)
    head.append(f.name).append(": ").append(f.value).append("\r\n");
  if (!headers.contains("Content-Length") && (body_size > 0 || defines_content(method)))
    head.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n");
  head.append("\r\n");
  return head;
}

ClientResponse owned_copy(const Response& r) {
  ClientResponse out;
  out.status = r.status;
  out.reason = std::string(r.reason);
  out.version = r.version;
  for (const Header& h : r.headers) out.headers.add(std::string(h.name), std::string(h.value));
  for (const Header& h : r.trailers) out.trailers.add(std::string(h.name), std::string(h.value));
  out.body = std::string(r.body);
  return out;
}

Task<std::size_t> read_some_within(ClientConnection& stream, std::span<std::byte> buffer,
                                   std::chrono::milliseconds limit, const Url& url) {
  if (limit.count() <= 0) co_return co_await stream.read_some(buffer);
  try {
    co_return co_await weft::wait_for(stream.read_some(buffer), limit);
  } catch (const weft::TimeoutError&) {
    throw ClientTimeout(url.to_string(), TimeoutPhase::read, limit);
  }
}

// Writes the request (`message`: the head, with the body if it was small enough to copy;
// `body`: the rest) and reads the whole response. Any failure leaves the connection in the
// lease, which closes it.
Task<ClientResponse> transfer(const ClientState& state, Lease& lease, const std::string& method,
                              const Url& url, const std::string& message, const std::string& body,
                              bool request_closes) {
  ClientConnection& stream = lease.stream();
  try {
    co_await stream.write_all(std::as_bytes(std::span(message)));
    if (!body.empty()) co_await stream.write_all(std::as_bytes(std::span(body)));
  } catch (const std::system_error& e) {
    throw ConnectionClosed(url.to_string(), e.code(), 0);
  } catch (const tls::TlsError&) {
    // The TLS layer broke off (an alert, or a close without close_notify): closed all the same.
    throw ConnectionClosed(url.to_string(), {}, 0);
  }

  ResponseParser parser(state.options.limits);
  parser.start(method);
  // Not zeroed: only what read_some wrote is ever looked at.
  const auto buffer = std::make_unique_for_overwrite<std::byte[]>(kReadChunk);
  std::size_t received = 0;
  bool closed_by_server = false;
  for (ParseStatus status = ParseStatus::need_more; status != ParseStatus::complete;) {
    std::size_t n = 0;
    try {
      n = co_await read_some_within(stream, std::span(buffer.get(), kReadChunk),
                                    state.options.read_timeout, url);
    } catch (const std::system_error& e) {
      throw ConnectionClosed(url.to_string(), e.code(), received);
    } catch (const tls::TlsError&) {
      throw ConnectionClosed(url.to_string(), {}, received);
    }
    if (n == 0) {
      // Completes a body that runs until the close; anything else was cut short.
      closed_by_server = true;
      status = parser.finish();
      if (status == ParseStatus::error) throw ConnectionClosed(url.to_string(), {}, received);
    } else {
      received += n;
      status = parser.feed(buffer.get(), n);
      if (status == ParseStatus::error)
        throw MalformedResponse(url.to_string(), parser.error().status,
                                std::string(parser.error().reason));
    }
  }

  const Response& response = parser.response();
  ClientResponse out = owned_copy(response);
  // Bytes after the response were not asked for: the connection's framing cannot be trusted.
  // A 101 hands the connection to another protocol.
  if (response.keep_alive && !closed_by_server && !request_closes && response.status != 101 &&
      parser.buffered() == 0)
    lease.give_back();
  co_return out;
}

Task<ClientResponse> exchange(const std::shared_ptr<ClientState>& state, const std::string& method,
                              const Url& url, const HeaderList& headers, const std::string& body) {
  std::string message = request_head(method, url, headers, body.size(), state->options);
  const bool body_inline = body.size() <= kInlineBody;
  if (body_inline) message += body;
  const std::string no_body;
  const bool request_closes = headers.has_token("Connection", "close");
  for (int attempt = 0;; ++attempt) {
    // A retry takes a new connection: the other pooled ones may be as stale as the first.
    Lease lease = co_await state->acquire(url, /*allow_idle=*/attempt == 0);
    // A pooled connection that ended before any byte of the response arrived was closed by
    // the server as we reused it (its keep-alive timeout, a restart): the request was not
    // acted on, so an idempotent one is sent again, once, on a new connection.
    const bool may_retry = attempt == 0 && lease.reused() && is_idempotent(method);
    try {
      co_return co_await transfer(*state, lease, method, url, message, body_inline ? no_body : body,
                                  request_closes);
    } catch (const ConnectionClosed& e) {
      if (!may_retry || e.bytes_received() != 0) throw;
    }
    state->note_retry();
  }
}

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Task<ClientResponse> follow(std::shared_ptr<ClientState> state, std::string method, Url url,
                            HeaderList headers, std::string body) {
  for (std::size_t redirects = 0;; ++redirects) {
    ClientResponse response = co_await exchange(state, method, url, headers, body);
    response.url = url.to_string();
    response.redirects = redirects;
    const int status = response.status;
    const std::optional<std::string_view> location = response.headers.find("Location");
    if (!state->options.follow_redirects || !is_redirect(status) || !location) co_return response;
    if (redirects == state->options.max_redirects)
      throw TooManyRedirects(url.to_string(), state->options.max_redirects);
    Url next = url.resolve(*location);
    // 303 asks for a GET of the other resource (RFC 9110 15.4.4); browsers do the same for a
    // POST answered by 301 or 302, and so do aiohttp and requests.
    if ((status == 303 && method != "HEAD") ||
        ((status == 301 || status == 302) && method == "POST")) {
      method = "GET";
      body.clear();
      headers.remove("Content-Length");
      headers.remove("Content-Type");
    }
    // Credentials meant for one origin are not handed to another.
    if (!next.same_origin(url)) {
      headers.remove("Authorization");
      headers.remove("Cookie");
      headers.remove("Host");
    }
    url = std::move(next);
  }
}

// `site` is the user's call (Client::get and the rest): reports about this task name it.
Task<ClientResponse> run_request(std::shared_ptr<ClientState> state, std::string method,
                                 std::string url_text, HeaderList headers, std::string body,
                                 CallSite /*site*/) {
  Url url = Url::parse(url_text);
  validate(method, headers, body);
  const std::chrono::milliseconds total = state->options.total_timeout;
  if (total.count() <= 0)
    co_return co_await follow(std::move(state), std::move(method), std::move(url),
                              std::move(headers), std::move(body));
  const std::string shown = url.to_string();
  // The connect, handshake and read scopes inside turn their deadlines into ClientTimeout,
  // which is a weft::TimeoutError too: it passes as it is. What else comes out as a
  // TimeoutError is this scope's own deadline (an outer cancel is a CancelledError).
  try {
    co_return co_await weft::wait_for(follow(std::move(state), std::move(method), std::move(url),
                                             std::move(headers), std::move(body)),
                                      total);
  } catch (const ClientTimeout&) {
    throw;
  } catch (const weft::TimeoutError&) {
    throw ClientTimeout(shown, TimeoutPhase::total, total);
  }
}

Task<void> close_client(std::shared_ptr<ClientState> state) {
  std::vector<ClientConnection> idle;
  JoinHandle<void> timer = state->shut(idle);
  idle.clear();
  if (timer.valid()) {
    timer.cancel();
    // Waits for the timer to end without taking its result (its CancelledError); a cancel of
    // this task still comes out, once the timer has ended.
    co_await timer.shielded();
  }
}

ClientOptions checked(ClientOptions options) {
  if (options.max_connections_per_host == 0)
    throw std::invalid_argument("weft::http::Client: max_connections_per_host must be at least 1");
  for (char c : options.user_agent) {
    if (!detail::is_field_value_char(static_cast<unsigned char>(c)))
      throw std::invalid_argument("weft::http::Client: control character in user_agent");
  }
  return options;
}

}  // namespace

// --- Client ---------------------------------------------------------------------------------

Client::Client(ClientOptions options)
    : state_(std::make_shared<ClientState>(checked(std::move(options)))) {}

Client::~Client() {
  std::vector<ClientConnection> idle;
  JoinHandle<void> timer = state_->shut(idle);
  timer.cancel();  // it ends at its sleep; dropping the handle lets it
}

Task<ClientResponse> Client::request(std::string method, std::string url, HeaderList headers,
                                     std::string body, CallSite site) {
  return run_request(state_, std::move(method), std::move(url), std::move(headers), std::move(body),
                     site);
}

Task<ClientResponse> Client::get(std::string url, HeaderList headers, CallSite site) {
  return request("GET", std::move(url), std::move(headers), {}, site);
}

Task<ClientResponse> Client::head(std::string url, HeaderList headers, CallSite site) {
  return request("HEAD", std::move(url), std::move(headers), {}, site);
}

Task<ClientResponse> Client::post(std::string url, std::string body, HeaderList headers,
                                  CallSite site) {
  return request("POST", std::move(url), std::move(headers), std::move(body), site);
}

Task<void> Client::close() { return close_client(state_); }

ClientStats Client::stats() const { return state_->stats(); }

const ClientOptions& Client::options() const noexcept { return state_->options; }

}  // namespace weft::http
