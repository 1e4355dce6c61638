#pragma once

/// @file
/// weft::TaskDump: what every live task of a runtime is doing, as a tree (Python's
/// `python -m asyncio pstree`, Go's goroutine dump on SIGQUIT).
///
///   weft::TaskDump dump = runtime.dump();      // from any thread
///   weft::TaskDump here = weft::dump_tasks();  // from inside a task
///   std::fputs(dump.text().c_str(), stderr);   // or dump.json()
///
/// Three ways to take one: Runtime::dump() and weft::dump_tasks(); RuntimeOptions::dump_signal
/// (the text form on stderr when the process receives that signal, e.g. SIGUSR1); and
/// http::mount_task_dump, which serves it as `GET /debug/tasks` on a server you choose.
///
/// A dump never waits for a loop, so it works while a loop is stuck in a task that does not
/// suspend: it reads what each task published when it last changed state (its registry entry,
/// its scheduling bits, a note each wait leaves), never the task's frame. What it cannot know
/// it says: a running task's current line is not known (only that it runs, on which loop, and
/// since when), and an awaiter outside weft that does not describe itself shows as "waiting".
/// "For how long" comes from each loop's clock as of its last look (it looks at least every 61
/// task runs and after every park), so it is approximate by that much.
///
/// docs/tuning.md ("Seeing what tasks do") shows a dump of a small server and how to read it.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/runtime_export.hpp"

namespace weft {

/// One live task in a TaskDump.
struct TaskSnapshot {
  /// Where the task was when the dump read it.
  enum class State {
    running,   ///< inside a run on loop `loop`
    runnable,  ///< in a run queue, or owed one
    waiting,   ///< suspended in a wait that `waits_on` describes
    changing,  ///< between two of those: woken and not queued yet, or ending
  };
  /// The task's id as reports print it: "#7@loop1" is the 7th task spawned on loop 1; "#3" the
  /// 3rd spawned from outside the loops.
  std::string id;
  /// The name given at spawn (SpawnOptions::name) or later; empty if none.
  std::string name;
  /// The function of the task's coroutine (for a spawned callable, the callable's).
  std::string coroutine;
  /// "file:line" of the spawn call, or empty when it was not recorded (spawn(callable, args...)
  /// cannot record it).
  std::string spawned_at;
  /// See State.
  State state = State::changing;
  /// For a running task, the loop running it; otherwise the loop it last ran on, or -1 if it
  /// has not run yet.
  int loop = -1;
  /// For a waiting task, what it waits on in words: "sleep until +1.2 s", "fd 17 readable",
  /// "join #12@loop0", "weft::Queue::pop() on 0x… (2 waiters ahead)", …; empty otherwise.
  std::string waits_on;
  /// How long the task has been in `state` (approximate; see the top of this file), or a
  /// negative value if unknown.
  std::chrono::milliseconds for_how_long{-1};
  /// The id of the task it is shown under: the task joining it, else the owner of the
  /// TaskGroup it belongs to, else the task that spawned it (if still live). Empty for a root.
  std::string parent;
  /// Its depth in the tree (0 for a root); tasks are listed depth-first, parents first.
  unsigned depth = 0;
};

/// A snapshot of every live task of one runtime, as a tree; see the top of this file.
struct WEFT_RUNTIME_API TaskDump {
  /// The tasks, depth-first: each parent before its children, siblings oldest first.
  std::vector<TaskSnapshot> tasks;
  /// The runtime's loop count.
  unsigned loops = 0;
  /// False if a loop's registry changed so fast under the dump that some tasks may be missing
  /// (a storm of short tasks); the tasks listed are still correct.
  bool complete = true;

  /// The tree as text, one task per line, in the style of `pstree`.
  [[nodiscard]] std::string text() const;
  /// The same fields as JSON: {"loops": N, "complete": true, "tasks": [{...}, ...]}.
  [[nodiscard]] std::string json() const;
};

/// The dump of the runtime running the calling task. Throws std::logic_error outside a task.
[[nodiscard]] WEFT_RUNTIME_API TaskDump dump_tasks();

}  // namespace weft
