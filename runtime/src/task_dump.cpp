// Task dumps (weft/task_dump.hpp): collecting the live tasks without a loop's help, reading
// what each published, arranging them as a tree, and the text and JSON forms.
//
// Collecting. Each loop's registry is walked under its guard (registry_guard.hpp) a bounded
// chunk at a time
// (Loop::snapshot_registry), the foreign registry under its mutex; every task found gets a
// reference, so its header stays readable however far the task gets meanwhile (it may
// complete, and its frame be destroyed: nothing here reads the frame).
//
// Reading. Only fields that are safe to read from another thread at any moment: the
// scheduling and wait words (atomics), the wait note (a seqlock whose writer is the task),
// the since/loop words (atomics), the name (under its lock), and the spawn-time copies (set
// before the task was shared). A running task's frame is its loop's business: the dump says
// it runs, where and since when, and no more.

#include "task_dump.hpp"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "loop.hpp"
#include "reporting.hpp"
#include "scheduler.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/spawned_task.hpp"

namespace weft::detail {

namespace {

std::string file_and_line(const char* path, unsigned line) {
  if (path == nullptr) return std::string();
  const char* file = path;
  for (const char* p = path; *p != '\0'; ++p)
    if (*p == '/') file = p + 1;  // the last component: enough to find it
  return std::string(file) + ":" + std::to_string(line);
}

std::string seconds_text(std::int64_t ns) {
  char buf[32];
  if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ns / 1'000'000));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  }
  return buf;
}

std::string signal_names(std::uint64_t set) {
  std::string s;
  while (set != 0) {
    const int n = std::countr_zero(set) + 1;
    set &= set - 1;
    if (!s.empty()) s += ", ";
    const char* abbrev = ::sigabbrev_np(n);
    s += abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(n);
  }
  return s;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The operation a primitive's note names, without the "co_await " its errors use.
std::string operation(const char* what) {
  if (what == nullptr) return "a wait";
  constexpr const char kPrefix[] = "co_await ";
  if (std::strncmp(what, kPrefix, sizeof kPrefix - 1) == 0) what += sizeof kPrefix - 1;
  return what;
}

std::string describe_wait(const WaitNote& note, std::int64_t now_ns) {
  switch (note.kind) {
    case WaitKind::sleep: {
      const std::int64_t left = static_cast<std::int64_t>(note.value) - now_ns;
      return left > 0 ? "sleep until +" + seconds_text(left) : std::string("sleep, due now");
    }
    case WaitKind::fd_read:
      return "fd " + std::to_string(note.value) + " readable";
    case WaitKind::fd_write:
      return "fd " + std::to_string(note.value) + " writable";
    case WaitKind::join:
      return "join " + format_task_id(note.value);
    case WaitKind::primitive: {
      std::string s = operation(note.what) + " on " + hex(note.value);
      if (note.count == 0) return s + " (first in line)";
      return s + " (" + std::to_string(note.count) + (note.count == 1 ? " waiter" : " waiters") +
             " ahead)";
    }
    case WaitKind::children:
      return operation(note.what);
    case WaitKind::to_thread: {
      std::string s = std::string("weft::to_thread: ") + (note.what ? note.what : "its job");
      if (note.count > 0)
        s += ", " + std::to_string(note.count) + (note.count == 1 ? " call" : " calls") + " ahead";
      return s;
    }
    case WaitKind::signal:
      return "weft::signal: " + signal_names(note.value);
    case WaitKind::unknown:
      break;
  }
  return "waiting (an awaiter that does not describe itself)";
}

struct Collected {
  TaskSnapshot snapshot;
  std::uint64_t id = 0;
  std::uint64_t parent_id = 0;  // the spawner or group owner
  std::uint64_t joins = 0;      // the task it waits to join, 0 if none
};

Collected read_task(const TaskHeader& task, std::int64_t now_ns) {
  Collected c;
  c.id = task.id_;
  c.parent_id = task.parent_id_.load(std::memory_order_relaxed);
  TaskSnapshot& s = c.snapshot;
  s.id = format_task_id(task.id_);
  s.name = task.name();
  if (task.coroutine_ != nullptr) s.coroutine = task.coroutine_;
  s.spawned_at = file_and_line(task.spawn_file_, task.spawn_line());
  s.loop = task.last_run_loop();
  const std::uint32_t sched = task.sched_bits();
  const std::uint32_t wait = task.wait_bits();
  if ((sched & TaskHeader::kRunning) != 0) {
    s.state = TaskSnapshot::State::running;
  } else if ((sched & TaskHeader::kNotified) != 0) {
    s.state = TaskSnapshot::State::runnable;
  } else if ((wait & TaskHeader::kWaiting) != 0) {
    s.state = TaskSnapshot::State::waiting;
    WaitNote note;
    if (task.read_wait_note(note)) {
      s.waits_on = describe_wait(note, now_ns);
      if (note.kind == WaitKind::join) c.joins = note.value;
    } else {
      s.waits_on = "waiting (its note was being rewritten on every read)";
    }
  }
  if (const std::uint32_t since = task.since_ticks(); since != 0) {
    // Modulo 2^32 ticks, as since_ticks is kept. A since a little ahead of now (a loop's clock
    // read after the dump's) reads as a huge value: shown as 0.
    const std::uint32_t elapsed = TaskHeader::to_since_ticks(now_ns) - since;
    const std::uint64_t ns =
        elapsed > 0x80000000u ? 0 : std::uint64_t{elapsed} << TaskHeader::kSinceTickShift;
    s.for_how_long = std::chrono::milliseconds(ns / 1'000'000);
  }
  return c;
}

// Orders `tasks` depth-first under their tree parents and sets parent and depth.
std::vector<TaskSnapshot> arrange(std::vector<Collected> tasks) {
  std::sort(tasks.begin(), tasks.end(),
            [](const Collected& a, const Collected& b) { return a.id < b.id; });
  std::unordered_map<std::uint64_t, std::size_t> index;
  for (std::size_t i = 0; i < tasks.size(); ++i) index.emplace(tasks[i].id, i);
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> parent(tasks.size(), kNone);
  // A joiner first: the task waiting for this one is what it is holding up.
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].joins == 0) continue;
    auto it = index.find(tasks[i].joins);
    if (it != index.end() && it->second != i && parent[it->second] == kNone) parent[it->second] = i;
  }
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (parent[i] != kNone || tasks[i].parent_id == 0) continue;
    auto it = index.find(tasks[i].parent_id);
    if (it != index.end() && it->second != i) parent[i] = it->second;
  }
  std::vector<std::vector<std::size_t>> children(tasks.size());
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    (parent[i] == kNone ? roots : children[parent[i]]).push_back(i);
  }
  std::vector<std::string> ids;  // the snapshots move out as they are shown
  ids.reserve(tasks.size());
  for (const Collected& c : tasks) ids.push_back(c.snapshot.id);
  std::vector<TaskSnapshot> out;
  out.reserve(tasks.size());
  std::vector<bool> shown(tasks.size(), false);
  auto show_tree = [&](std::size_t root) {
    std::vector<std::pair<std::size_t, unsigned>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [i, depth] = stack.back();
      stack.pop_back();
      if (shown[i]) continue;
      shown[i] = true;
      TaskSnapshot s = std::move(tasks[i].snapshot);
      s.depth = depth;
      if (parent[i] != kNone && depth > 0) s.parent = ids[parent[i]];
      out.push_back(std::move(s));
      for (auto c = children[i].rbegin(); c != children[i].rend(); ++c)
        stack.emplace_back(*c, depth + 1);
    }
  };
  for (std::size_t r : roots) show_tree(r);
  // Tasks in a cycle of joins (a deadlock) have no root: show each cycle from its oldest.
  for (std::size_t i = 0; i < tasks.size(); ++i)
    if (!shown[i]) show_tree(i);
  return out;
}

const char* state_word(TaskSnapshot::State state) {
  switch (state) {
    case TaskSnapshot::State::running:
      return "running";
    case TaskSnapshot::State::runnable:
      return "runnable";
    case TaskSnapshot::State::waiting:
      return "waiting";
    case TaskSnapshot::State::changing:
      break;
  }
  return "changing";
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

// A loop's registry, walked from another thread.
// The walk goes from the newest task to the oldest, kRegistryChunk tasks per hold of the
// guard (registry_guard.hpp: each hold costs the dump a membarrier, and the loop at most the
// chunk's time if it changes the registry meanwhile), taking a reference to each. Between two holds
// the loop may link new tasks (at the front, behind the walk: they are newer than the dump, which
// may leave them out) and unlink completed ones. The last task taken is still alive (the walk holds
// a reference), so under the lock its `linked` flag says whether its `next` is still in the list:
// if so the walk goes on from it; if it was unlinked, the walk starts again at the front and skips
// the tasks it already holds (their addresses cannot be reused while it holds them).
bool Loop::snapshot_registry(std::vector<TaskHeader*>& out) {
  constexpr std::size_t kRegistryChunk = 1024;
  constexpr int kMaxRestarts = 64;
  const std::size_t first = out.size();
  std::unordered_set<TaskHeader*> taken;  // filled at the first restart
  TaskHeader* cursor = nullptr;
  int restarts = 0;
  for (;;) {
    const RegistryGuard::DumpScope walking(registry_guard_);
    TaskHeader* t = registry_.front();
    if (cursor != nullptr) {
      const IntrusiveListNode<TaskHeader>& node = *cursor;
      if (node.linked) {
        t = node.next;
      } else if (++restarts > kMaxRestarts) {
        return false;
      } else if (taken.empty()) {
        taken.insert(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
      }
    }
    for (std::size_t n = 0; t != nullptr && n < kRegistryChunk; ++n) {
      if (taken.empty() || taken.insert(t).second) {
        t->add_ref();
        out.push_back(t);
      }
      cursor = t;
      t = static_cast<const IntrusiveListNode<TaskHeader>&>(*t).next;
    }
    if (t == nullptr) return true;
  }
}

TaskDump take_task_dump(Scheduler& scheduler) {
  std::vector<TaskHeader*> headers;
  TaskDump dump;
  dump.loops = scheduler.num_loops();
  for (unsigned i = 0; i < scheduler.num_loops(); ++i)
    if (!scheduler.loop(i).snapshot_registry(headers)) dump.complete = false;
  scheduler.snapshot_foreign(headers);
  // The runtime's clock: on simulated time the one loop's virtual clock, which sleeps'
  // deadlines and the tasks' since-times are kept in.
  const std::int64_t now = scheduler.options().simulated_time
                               ? scheduler.loop(0).simulated_now_for_dump()
                               : monotonic_ns();
  std::vector<Collected> collected;
  collected.reserve(headers.size());
  for (TaskHeader* task : headers) {
    // A completed task waits only for its registry entry to go: not live any more.
    if ((task->sched_bits() & TaskHeader::kComplete) == 0)
      collected.push_back(read_task(*task, now));
    task->release();
  }
  dump.tasks = arrange(std::move(collected));
  return dump;
}

}  // namespace weft::detail

namespace weft {

std::string TaskDump::text() const {
  std::string out = "weft task dump: " + std::to_string(tasks.size()) +
                    (tasks.size() == 1 ? " task on " : " tasks on ") + std::to_string(loops) +
                    (loops == 1 ? " loop" : " loops");
  if (!complete) out += " (incomplete: tasks came and went too fast to list them all)";
  out += '\n';
  // The tree's rails: for each depth on the current path, whether a later sibling follows.
  std::vector<bool> more_below;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskSnapshot& t = tasks[i];
    bool has_next_sibling = false;
    for (std::size_t j = i + 1; j < tasks.size() && tasks[j].depth >= t.depth; ++j) {
      if (tasks[j].depth == t.depth) {
        has_next_sibling = true;
        break;
      }
    }
    more_below.resize(t.depth + 1);
    more_below[t.depth] = has_next_sibling;
    std::string line;
    for (unsigned d = 1; d < t.depth; ++d) line += more_below[d] ? "│  " : "   ";
    if (t.depth > 0) line += has_next_sibling ? "├─ " : "└─ ";
    line += t.id;
    if (!t.name.empty()) line += " '" + t.name + "'";
    if (!t.coroutine.empty()) line += " " + t.coroutine;
    if (!t.spawned_at.empty()) line += " (spawned at " + t.spawned_at + ")";
    line += ": ";
    line += detail::state_word(t.state);
    if (t.state == TaskSnapshot::State::running) line += " on loop " + std::to_string(t.loop);
    if (t.for_how_long.count() >= 0)
      line += " for " + detail::seconds_text(t.for_how_long.count() * 1'000'000);
    if (!t.waits_on.empty()) line += ": " + t.waits_on;
    out += line;
    out += '\n';
  }
  return out;
}

std::string TaskDump::json() const {
  std::string out = "{\"loops\":" + std::to_string(loops) +
                    ",\"complete\":" + (complete ? "true" : "false") + ",\"tasks\":[";
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskSnapshot& t = tasks[i];
    if (i > 0) out += ',';
    out += "{\"id\":";
    detail::append_json_string(out, t.id);
    out += ",\"name\":";
    detail::append_json_string(out, t.name);
    out += ",\"coroutine\":";
    detail::append_json_string(out, t.coroutine);
    out += ",\"spawned_at\":";
    detail::append_json_string(out, t.spawned_at);
    out += ",\"state\":\"";
    out += detail::state_word(t.state);
    out += "\",\"loop\":" + std::to_string(t.loop);
    out += ",\"waits_on\":";
    detail::append_json_string(out, t.waits_on);
    out += ",\"for_ms\":" + std::to_string(t.for_how_long.count());
    out += ",\"parent\":";
    detail::append_json_string(out, t.parent);
    out += ",\"depth\":" + std::to_string(t.depth) + "}";
  }
  out += "]}";
  return out;
}

TaskDump dump_tasks() {
  detail::Scheduler* scheduler = detail::current_scheduler();
  if (scheduler == nullptr) detail::throw_no_current_task("weft::dump_tasks");
  return detail::take_task_dump(*scheduler);
}

TaskDump Runtime::dump() const { return detail::take_task_dump(*scheduler_); }

}  // namespace weft
