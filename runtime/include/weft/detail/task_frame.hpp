#pragma once

// The allocation behind every weft::Task coroutine frame, and the room in front of it where a
// spawned task's header lives, so a spawn costs one block, not two.
//
// Layout of one block (from the frame pool):
//
//   [ header room: kTaskHeaderRoom bytes ........... | tail ][ coroutine frame: size bytes ]
//   ^ block                                                  ^ what operator new returns
//
// A Task does not know at allocation whether it will be awaited or spawned, so every frame
// gets the room; an awaited Task leaves it unused (176 bytes from a per-thread pool, never a
// separate malloc). weft::spawn constructs the task's TaskHeader at `block`.
//
// The header and the frame end at different times: at a forced shutdown, or for a task whose
// cancel came before its first run, the runtime destroys the frame while a JoinHandle still
// holds the header. The tail records who still lives in the block, and the block is freed by
// whichever of the two ends last:
//   - operator delete of the frame (coroutine destroyed): with no header in the room, frees
//     the block; with a live header, only marks the frame gone;
//   - the header's last release: destroys the frame if it is still there (which frees the
//     block, the header being marked gone first), or frees the block itself.
// Both ends are ordered without atomics: a frame is destroyed either by the loop completing the
// task (before it drops the registry's reference: the refcount's acq_rel orders it before the
// last release), by shutdown with every loop stopped, or by the last release itself.
//
// A frame whose allocation the compiler elided (clang's coroutine heap elision) never reaches
// these functions and has no room; it cannot be spawned either, since elision requires that
// the handle never escapes its caller, and spawning hands it to the runtime.

#include <cstddef>
#include <cstdint>
#include <new>

#include "weft/detail/frame_pool.hpp"

namespace weft::detail {

// Room for a TaskHeader and the tail, a multiple of the frame alignment (operator new's 16).
// spawned_task.hpp checks that the header fits. The header is 200 bytes with libstdc++, about
// 60 of them what a task dump reads (task_header.hpp): every frame pays the room, so the
// header's fields fill its padding, and a name is a pointer.
inline constexpr std::size_t kTaskHeaderRoom = 208;

struct TaskFrameTail {
  enum State : std::uint32_t {
    kFrameOnly = 0,       // no header: the frame's operator delete frees the block
    kHeaderAndFrame = 1,  // spawned: both live
    kHeaderOnly = 2,      // the frame was destroyed first: the header's end frees the block
  };
  std::uint32_t frame_size;
  State state;
};
inline constexpr std::size_t kTaskFrameTailOffset = kTaskHeaderRoom - sizeof(TaskFrameTail);
static_assert(kTaskHeaderRoom % 16 == 0, "the frame after the room keeps operator new's alignment");

[[nodiscard]] inline std::byte* task_frame_block(void* frame) noexcept {
  return static_cast<std::byte*>(frame) - kTaskHeaderRoom;
}
[[nodiscard]] inline TaskFrameTail& task_frame_tail(void* block) noexcept {
  return *reinterpret_cast<TaskFrameTail*>(static_cast<std::byte*>(block) + kTaskFrameTailOffset);
}

[[nodiscard]] inline void* allocate_task_frame(std::size_t size) {
  auto* block = static_cast<std::byte*>(frame_allocate(size + kTaskHeaderRoom));
  ::new (static_cast<void*>(block + kTaskFrameTailOffset))
      TaskFrameTail{static_cast<std::uint32_t>(size), TaskFrameTail::kFrameOnly};
  return block + kTaskHeaderRoom;
}

inline void deallocate_task_frame(void* frame, std::size_t size) noexcept {
  std::byte* block = task_frame_block(frame);
  TaskFrameTail& tail = task_frame_tail(block);
  if (tail.state == TaskFrameTail::kHeaderAndFrame) {
    tail.state = TaskFrameTail::kHeaderOnly;  // the header frees the block when it ends
    return;
  }
  frame_deallocate(block, size + kTaskHeaderRoom);
}

}  // namespace weft::detail
