#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/runtime_export.hpp"

namespace weft::detail {

// Coroutine frames (with their task headers, task_frame.hpp) and timer nodes come from a
// per-thread pool of size classes, backed by 64 KiB slabs, so spawning and finishing a task
// never takes a lock or enters malloc on the hot path, and a burst of a million live tasks
// costs one slab per ~170 frames (runtime/src/frame_pool.cpp explains the slabs).
//
// A block freed on another thread goes to *that* thread's lists (frames migrate with work
// stealing); each class list is capped so a consumer thread cannot hoard a producer's memory,
// and a slab goes back to the allocator once all its blocks have. Blocks above the largest
// class (2 KiB) go straight to ::operator new.
[[nodiscard]] WEFT_RUNTIME_API void* frame_allocate(std::size_t size);
WEFT_RUNTIME_API void frame_deallocate(void* block, std::size_t size) noexcept;

// The slabs taken from the allocator and not yet given back (in use or kept empty for the
// next burst), over all threads: for tests and diagnostics.
[[nodiscard]] WEFT_RUNTIME_API std::int64_t frame_pool_slabs_live() noexcept;
// Frees the empty slabs kept for the next burst now, instead of after their second unused.
WEFT_RUNTIME_API void frame_pool_trim() noexcept;
// Frees the empty slabs that stayed unused for the last second, at most once a second. The
// runtime's monitor thread calls it as it samples the loops, so a burst's memory goes back
// even when no other slab is taken or returned after it.
WEFT_RUNTIME_API void frame_pool_decay() noexcept;

}  // namespace weft::detail
