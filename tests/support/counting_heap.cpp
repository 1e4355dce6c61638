#include "counting_heap.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

std::atomic<long long> g_live_bytes{0};
std::atomic<std::uint64_t> g_allocations{0};

#if WEFT_TEST_COUNTS_HEAP
// Every block carries its size in front of it, so delete knows what it frees. The header is
// as large as the strictest alignment handed out, so the block after it stays aligned.
constexpr std::size_t kHeader = alignof(std::max_align_t);

void* counted_allocate(std::size_t size, std::size_t alignment) {
  const std::size_t header = alignment > kHeader ? alignment : kHeader;
  void* base = nullptr;
  if (posix_memalign(&base, header < sizeof(void*) ? sizeof(void*) : header, header + size) != 0)
    return nullptr;
  auto* block = static_cast<unsigned char*>(base) + header;
  reinterpret_cast<std::size_t*>(block)[-1] = size;
  reinterpret_cast<std::size_t*>(block)[-2] = header;
  // Relaxed: statistics, read after the work they count has been joined.
  g_live_bytes.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return block;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  auto* block = static_cast<unsigned char*>(p);
  const std::size_t size = reinterpret_cast<std::size_t*>(block)[-1];
  const std::size_t header = reinterpret_cast<std::size_t*>(block)[-2];
  g_live_bytes.fetch_sub(static_cast<long long>(size), std::memory_order_relaxed);
  std::free(block - header);
}

void* counted_new(std::size_t size, std::size_t alignment) {
  void* p = counted_allocate(size == 0 ? 1 : size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

#endif  // WEFT_TEST_COUNTS_HEAP

}  // namespace

#if WEFT_TEST_COUNTS_HEAP
void* operator new(std::size_t size) { return counted_new(size, kHeader); }
void* operator new[](std::size_t size) { return counted_new(size, kHeader); }
void* operator new(std::size_t size, std::align_val_t a) {
  return counted_new(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted_new(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocate(size == 0 ? 1 : size, kHeader);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocate(size == 0 ? 1 : size, kHeader);
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
#endif  // WEFT_TEST_COUNTS_HEAP

long long weft::test::live_heap_bytes() noexcept {
  return g_live_bytes.load(std::memory_order_relaxed);
}
std::uint64_t weft::test::heap_allocations() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}
