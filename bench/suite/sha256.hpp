#pragma once

// SHA-256 through OpenSSL's EVP interface (SHA-NI or AVX2 where the CPU has them), and the
// single-core rate that is the hashing scenarios' limit: what `openssl speed -evp sha256`
// reports, measured in-process at the scenario's own buffer size so nothing is hard-coded.

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <vector>

namespace weft::bench {

using Sha256Digest = std::array<unsigned char, 32>;

// Throws std::runtime_error if OpenSSL fails (it does not for SHA-256 short of a broken build).
Sha256Digest sha256(std::span<const unsigned char> data);

// Deterministic pseudo-random bytes (xorshift64 from `seed`).
std::vector<unsigned char> pseudo_random_bytes(std::size_t size, std::uint64_t seed);

// Buffers of `buffer_bytes` hashed per second by this thread alone, hashing for about
// `duration` (after a short warm-up, so the clock and the caches settle first).
double single_core_sha256_rate(std::size_t buffer_bytes, std::chrono::milliseconds duration);

}  // namespace weft::bench
