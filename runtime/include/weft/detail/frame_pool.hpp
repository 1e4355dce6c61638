#pragma once

#include <cstddef>

namespace weft::detail {

// Coroutine frames and task headers come from a per-thread pool of size classes, so spawning
// and finishing a task never takes a lock or enters malloc on the hot path.
//
// A block freed on another thread goes to *that* thread's lists (frames migrate with work
// stealing); each class list is capped so a consumer thread cannot hoard a producer's memory.
// Blocks above the largest class go straight to ::operator new. Under AddressSanitizer a
// pooled block is poisoned while it sits in a list, so a use after free is still caught.
[[nodiscard]] void* frame_allocate(std::size_t size);
void frame_deallocate(void* block, std::size_t size) noexcept;

}  // namespace weft::detail
