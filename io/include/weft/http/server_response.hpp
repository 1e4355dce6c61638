#pragma once

/// @file
/// weft::http::ServerResponse: what a handler returns — a status, header fields and a body that
/// is either a string (sent with Content-Length), a stream of chunks (sent chunked to HTTP/1.1
/// clients, until the connection closes to HTTP/1.0 ones) or a file (sent with sendfile).
///
///   co_return weft::http::ServerResponse::text(200, "hello\n");
///   co_return weft::http::ServerResponse(204);
///   co_return weft::http::ServerResponse::stream(200, [n = 0]() mutable
///       -> weft::Task<std::optional<std::string>> {
///     if (n == 3) co_return std::nullopt;   // end of body
///     co_return "part " + std::to_string(n++) + "\n";
///   });
///
/// The server owns the message framing: it writes Content-Length or Transfer-Encoding, and
/// Connection, Date and Server itself; header() ignores fields with those names.
/// header() refuses a name or value that could split the response (CR, LF, NUL; a name that is
/// not a token) with std::invalid_argument — a handler that does so gets a 500, never a
/// smuggled header.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::http {

/// What a handler returns: a status, header fields and a body (a string, a stream of chunks or
/// a file); see this file's description.
class WEFT_IO_API ServerResponse {
 public:
  /// The next chunk of a streamed body, or std::nullopt at its end. Empty chunks are skipped.
  using ChunkSource = std::function<Task<std::optional<std::string>>()>;

  /// An open file, sent from `offset` for `size` bytes. The response owns the fd.
  struct FileBody {
    /// the file, owned by the response; -1 for none
    int fd = -1;
    /// where sending starts
    std::uint64_t offset = 0;
    /// bytes to send
    std::uint64_t size = 0;
  };

  /// An empty response with `status`; throws std::invalid_argument outside 100-999.
  explicit ServerResponse(int status = 200) : status_(status) {
    if (status < 100 || status > 999) throw_bad_status(status);
  }
  /// A response is moved on its way from the handler to the writer (into the handler's promise
  /// and out of it): a move is the body string, a view and two pointers.
  ServerResponse(ServerResponse&& other) noexcept = default;
  /// As the move constructor.
  ServerResponse& operator=(ServerResponse&& other) noexcept = default;
  ServerResponse(const ServerResponse&) = delete;
  ServerResponse& operator=(const ServerResponse&) = delete;
  ~ServerResponse() {
    if (fields_) recycle_fields();
  }

  /// A response with `body`, of `content_type`.
  [[nodiscard]] static ServerResponse text(
      int status, std::string body, std::string_view content_type = "text/plain; charset=utf-8");
  /// A response whose body is streamed from `source`, of `content_type`.
  [[nodiscard]] static ServerResponse stream(
      int status, ChunkSource source, std::string_view content_type = "application/octet-stream");
  /// Takes ownership of `fd` (closed with the response).
  [[nodiscard]] static ServerResponse file(int status, int fd, std::uint64_t offset,
                                           std::uint64_t size, std::string_view content_type);

  /// Adds a field (repeated names stay separate fields). Returns *this for chaining.
  ServerResponse& header(std::string_view name, std::string_view value);
  /// The fields added so far, as they will be sent: "Name: value\r\n" lines.
  [[nodiscard]] std::string_view fields() const noexcept {
    return fields_ ? std::string_view(*fields_) : preset_fields_;
  }

  /// The status code.
  [[nodiscard]] int status() const noexcept { return status_; }
  /// Sets the status code; throws std::invalid_argument outside 100-999.
  void set_status(int status);
  /// The body, to fill in place.
  [[nodiscard]] std::string& body() noexcept { return body_; }
  /// The body.
  [[nodiscard]] const std::string& body() const noexcept { return body_; }
  /// Replaces the body.
  void set_body(std::string body) { body_ = std::move(body); }

  /// True when the body is streamed from a ChunkSource.
  [[nodiscard]] bool is_stream() const noexcept { return extra_ && extra_->source; }
  /// True when the body is a file.
  [[nodiscard]] bool is_file() const noexcept { return extra_ && extra_->file.fd >= 0; }
  /// Assigning a source through this reference makes the response a stream.
  [[nodiscard]] ChunkSource& source();
  /// The file of a file response; fd -1 otherwise.
  [[nodiscard]] const FileBody& file_body() const noexcept {
    return extra_ ? extra_->file : kNoFile;
  }

 private:
  /// What only streamed and file responses carry, out of line so that the common response
  /// moves and dies cheaply.
  struct Extra {
    Extra() = default;
    Extra(const Extra&) = delete;
    Extra& operator=(const Extra&) = delete;
    ~Extra();  ///< closes file.fd
    ChunkSource source;
    FileBody file;
  };

  static const FileBody kNoFile;  ///< what file_body() is when the response has no file

  [[noreturn]] static void throw_bad_status(int status);
  void recycle_fields() noexcept;
  Extra& extra();

  int status_;
  /// The fields, serialised for the writer's one copy: without `fields_`, one constant line in
  /// `preset_fields_` (a default Content-Type, set without validating or copying it) or none;
  /// the first header() starts `fields_` from that line, and from then on `fields_` holds them
  /// all. Behind a pointer, so that moving a response does not copy a string's inline buffer;
  /// the string is recycled through a per-thread spare (server_response.cpp), so a response
  /// allocates nothing for its fields in a steady state.
  std::string_view preset_fields_;
  std::unique_ptr<std::string> fields_;
  std::string body_;
  std::unique_ptr<Extra> extra_;
};

/// The standard reason phrase of `status` ("Not Found"), or "Unknown".
[[nodiscard]] WEFT_IO_API std::string_view reason_phrase(int status) noexcept;

}  // namespace weft::http
