#include "server_stream.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft::http::detail {

Task<void> ServerStream::start_tls(const tls::Context& context) {
  // No handshake timeout of TlsStream's own (0): the registry's header deadline, which also
  // bounds the first request, cuts a handshake that does not finish in time, so that a
  // slowloris in the handshake gets exactly the plain port's limit.
  // Two steps, so that a failed handshake leaves the socket open: the connection's registry
  // entry names its fd until the connection has left the registry, and only then may the fd
  // number be freed (a sweep could otherwise shut down a newer connection that reused it).
  tls_.emplace(tls::TlsStream::wrap_server(std::move(tcp_), context));
  co_await tls_->handshake();
}

// Without kTLS (the kernel's "tls" ULP, absent on the kernels this was built on) a file cannot
// go from the page cache to the socket: OpenSSL must encrypt it in user space. So it is read
// with pread(2) into a buffer of this size and written record by record. The buffer is the
// send's alone (it lives across the waits of write_all), and is freed when the piece is out.
// SSL_sendfile would need kTLS; with it, this function would hand the file to the kernel
// like the TCP path.
constexpr std::size_t kFileBuffer = 64 * 1024;

Task<void> ServerStream::send_file(int file_fd, std::uint64_t offset, std::uint64_t count) {
  if (!tls_) {
    co_await tcp_.send_file(file_fd, offset, count);
    co_return;
  }
  const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(count, kFileBuffer));
  const auto buffer = std::make_unique_for_overwrite<std::byte[]>(size);
  while (count > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(count, size));
    const ssize_t n = ::pread(file_fd, buffer.get(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::system_category(), "weft::http::Server: reading a file");
    }
    if (n == 0)
      throw std::runtime_error("weft::http::Server: send_file: the file ended " +
                               std::to_string(count) + " bytes early");
    const auto got = static_cast<std::size_t>(n);
    co_await tls_->write_all(std::span<const std::byte>(buffer.get(), got));
    offset += got;
    count -= got;
  }
}

void ServerStream::shutdown_write() {
  if (tls_) {
    tls_->shutdown_write();
  } else {
    tcp_.shutdown_write();
  }
}

}  // namespace weft::http::detail
