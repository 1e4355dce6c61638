#pragma once

// A test binary that links counting_heap.cpp replaces the global operator new and delete with
// ones that count: the bytes live on the heap and the allocations made. They wrap malloc, so
// they work under ASan as well. TSan's runtime defines the global operator new and delete
// itself, so under TSan nothing is counted (kCountsHeap is false): a test then still runs its
// work, for the races, and reports itself skipped.

#include <cstdint>

#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_COUNTS_HEAP 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_COUNTS_HEAP 0
#endif
#endif
#ifndef WEFT_TEST_COUNTS_HEAP
#define WEFT_TEST_COUNTS_HEAP 1
#endif

namespace weft::test {

inline constexpr bool kCountsHeap = WEFT_TEST_COUNTS_HEAP != 0;

// Bytes allocated through operator new and not yet deleted.
[[nodiscard]] long long live_heap_bytes() noexcept;
// Calls of operator new (every form) so far.
[[nodiscard]] std::uint64_t heap_allocations() noexcept;

}  // namespace weft::test
