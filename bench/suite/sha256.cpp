#include "sha256.hpp"

#include <openssl/evp.h>

#include <cstdint>
#include <stdexcept>

namespace weft::bench {

Sha256Digest sha256(std::span<const unsigned char> data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size())
    throw std::runtime_error("EVP_Digest(sha256) failed");
  return out;
}

std::vector<unsigned char> pseudo_random_bytes(std::size_t size, std::uint64_t seed) {
  std::vector<unsigned char> out(size);
  std::uint64_t x = seed | 1;
  for (auto& byte : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    byte = static_cast<unsigned char>(x);
  }
  return out;
}

double single_core_sha256_rate(std::size_t buffer_bytes, std::chrono::milliseconds duration) {
  using Clock = std::chrono::steady_clock;
  const std::vector<unsigned char> buffer = pseudo_random_bytes(buffer_bytes, 0x5eed);
  // Warm-up: a tenth of the time, not counted.
  const auto warm_until = Clock::now() + duration / 10;
  while (Clock::now() < warm_until) (void)sha256(buffer);
  std::uint64_t hashed = 0;
  unsigned char sink = 0;
  const auto start = Clock::now();
  const auto until = start + duration;
  Clock::time_point now;
  do {
    // A batch between clock reads, so reading the clock costs nothing measurable even for
    // small buffers.
    for (int i = 0; i < 8; ++i) sink ^= sha256(buffer)[0];
    hashed += 8;
    now = Clock::now();
  } while (now < until);
  // The digests feed `sink`, so the calls cannot be dropped; its value itself is irrelevant.
  if (sink == 0xff && hashed == 0) throw std::logic_error("unreachable");
  return static_cast<double>(hashed) / std::chrono::duration<double>(now - start).count();
}

}  // namespace weft::bench
