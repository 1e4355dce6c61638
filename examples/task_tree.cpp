// What is my program doing right now? A small kitchen — cooks taking orders from a queue, a
// baker waiting on the oven, a courier waiting for the dishes it delivers — that prints its
// own task tree mid-run with weft::dump_tasks() (Python's `python -m asyncio pstree PID`).
//
// Look at: each task's line says what it waits on, in words (a queue pop, a sleep with the
// time left, a join); the cooks of the TaskGroup are shown under the task that runs the group,
// and a joined task under the task joining it. The same dump comes from Runtime::dump() on any
// thread, from RuntimeOptions::dump_signal (kill -USR1 PID), and over HTTP with
// weft::http::mount_task_dump. docs/tuning.md ("Seeing what tasks do") explains every field.
//
// Prints (ids, loops, addresses and times vary):
//   weft task dump: 7 tasks on 2 loops
//   #1 'block_on' kitchen (task_tree.cpp:…): waiting for 0 ms: weft::with_task_group (its children)
//   ├─ #3@loop0 'cook 1' cook (spawned at task_tree.cpp:…): waiting for 0 ms: weft::Queue::pop() on
//   0x… (first in line) ├─ … ├─ #6@loop0 'baker' bake (spawned at task_tree.cpp:…): waiting for 0
//   ms: sleep until +… └─ #7@loop1 'courier' deliver (spawned at task_tree.cpp:…): waiting for 0
//   ms: join #8@loop1
//      └─ #8@loop1 'plating' plate (spawned at task_tree.cpp:…): waiting for 0 ms: sleep until +…
//   kitchen closed: 3 orders cooked, 1 loaf baked, 1 delivery

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <weft/algorithms.hpp>
#include <weft/task_dump.hpp>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

// Takes orders until the queue is closed; returns how many it cooked.
weft::Task<int> cook(weft::Queue<std::string>& orders) {
  int cooked = 0;
  try {
    for (;;) {
      const std::string order = co_await orders.pop();
      co_await weft::sleep(10ms);  // cooking takes a moment
      ++cooked;
    }
  } catch (const weft::QueueClosed&) {
  }
  co_return cooked;
}

weft::Task<void> bake() { co_await weft::sleep(300ms); }

weft::Task<void> plate() { co_await weft::sleep(200ms); }

// Waits for the plating it spawned: a dump shows the plating under the courier.
weft::Task<void> deliver() {
  auto plating = weft::spawn(plate(), {.name = "plating"});
  co_await plating;
}

// Everything the kitchen does, with a look at itself while it runs.
weft::Task<std::string> kitchen() {
  weft::Queue<std::string> orders;
  int cooked = 0;
  auto body = [&](weft::TaskGroup& group) -> weft::Task<void> {
    auto c1 = group.spawn(cook(orders), {.name = "cook 1"});
    auto c2 = group.spawn(cook(orders), {.name = "cook 2"});
    auto c3 = group.spawn(cook(orders), {.name = "cook 3"});
    group.spawn(bake(), {.name = "baker"});
    group.spawn(deliver(), {.name = "courier"});

    co_await weft::sleep(50ms);  // let every task reach its first wait
    std::fputs(weft::dump_tasks().text().c_str(), stdout);

    const std::array<std::string, 3> menu{"soup", "salad", "stew"};
    for (const std::string& order : menu) co_await orders.push(order);
    orders.close();  // the cooks finish what is queued, then stop
    const std::array<weft::ChildHandle<int>*, 3> cooks{&c1, &c2, &c3};
    for (weft::ChildHandle<int>* c : cooks) {
      const int n = co_await *c;
      cooked += n;
    }
  };
  co_await weft::with_task_group(body);
  co_return "kitchen closed: " + std::to_string(cooked) + " orders cooked, 1 loaf baked, " +
      "1 delivery";
}

int main() {
  std::puts(weft::run(kitchen(), {.loops = 2}).c_str());
  return 0;
}
