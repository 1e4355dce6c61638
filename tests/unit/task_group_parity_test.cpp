// weft::TaskGroup against asyncio.TaskGroup: the behaviours CPython's test_taskgroups pins
// down (children cancelled on a failure, every error collected, a child cancelled on its own
// is not an error, cancellation from outside, nested groups), the per-child handle that
// create_task returns, group.cancel(), and what happens to a spawn once the group is
// cancelling. Ordering tests run on 1 loop; the others on 1 and 2.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/task_group.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::ChildHandle;
using weft::Task;
using weft::TaskGroup;
using weft::TaskGroupError;

constexpr unsigned kLoopCounts[] = {1, 2};

// Sleeps (10 s: forever, for a test) unless cancelled; counts the cancel and rethrows it.
Task<void> sleep_long(std::atomic<int>* cancelled) {
  try {
    co_await weft::sleep(10s);
  } catch (const CancelledError&) {
    cancelled->fetch_add(1);
    throw;
  }
}

Task<int> value_after_yield(int v) {
  co_await weft::yield();
  co_return v;
}

Task<void> fail_after_yield(std::string what) {
  co_await weft::yield();
  throw std::runtime_error(what);
}

std::vector<std::string> messages(const TaskGroupError& e) {
  std::vector<std::string> out;
  for (const std::exception_ptr& p : e.errors()) {
    try {
      std::rethrow_exception(p);
    } catch (const TaskGroupError& inner) {
      out.emplace_back("group(" + std::to_string(inner.errors().size()) + ")");
    } catch (const std::exception& x) {
      out.emplace_back(x.what());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// As asyncio's test_taskgroup_01: the handle create_task returned gives the child's value
// once the group has ended.
TEST(TaskGroupParity, ChildHandlesGiveTheirValuesAfterTheGroupEnded) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    auto body = [&]() -> Task<int> {
      std::optional<ChildHandle<int>> a;
      std::optional<ChildHandle<int>> b;
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        a = group.spawn(value_after_yield(42));
        b = group.spawn(value_after_yield(11));
        co_return;
      });
      EXPECT_TRUE(a->done());
      EXPECT_TRUE(b->done());
      EXPECT_FALSE(a->cancelled());
      co_return co_await *a + co_await *b;
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), 53);
  }
}

// The body awaits a child through its handle while the group runs; the value is taken once.
TEST(TaskGroupParity, BodyAwaitsAChildThroughItsHandle) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    auto body = [&]() -> Task<std::string> {
      co_return co_await weft::with_task_group([&](TaskGroup& group) -> Task<std::string> {
        ChildHandle<int> h = group.spawn(value_after_yield(7));
        const int v = co_await h;
        EXPECT_THROW((void)co_await h, std::logic_error);  // already taken
        co_return std::to_string(v);
      });
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), "7");
  }
}

// As test_taskgroup_03: a child cancelled through its own handle ends cancelled, and that is
// not a failure of the group: its siblings and the body carry on, the group ends normally.
TEST(TaskGroupParity, ChildCancelledThroughItsHandleIsNotAFailure) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    auto body = [&]() -> Task<int> {
      ChildHandle<void> first;
      std::optional<ChildHandle<int>> second;
      const int r = co_await weft::with_task_group([&](TaskGroup& group) -> Task<int> {
        first = group.spawn(sleep_long(&cancelled));
        EXPECT_TRUE(first.cancel());
        second = group.spawn(value_after_yield(11));
        EXPECT_THROW(co_await first, CancelledError);
        co_return 5;
      });
      EXPECT_TRUE(first.cancelled());
      EXPECT_FALSE(first.cancel()) << "cancel() of an ended child says it was too late";
      co_return r + co_await *second;
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), 16);
  }
}

// On 1 loop a child spawned by the body has not started while the body runs on; cancelled
// then, it never runs its work, ends cancelled, and the group still ends normally.
TEST(TaskGroupParity, ChildCancelledBeforeItStartsNeverRunsItsWork) {
  std::atomic<int> ran{0};
  auto body = [&]() -> Task<bool> {
    ChildHandle<void> child;
    co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
      child = group.spawn([](std::atomic<int>& r) -> Task<void> {
        r.fetch_add(1);
        co_return;
      }(ran));
      EXPECT_TRUE(child.cancel());
      co_return;
    });
    co_return child.cancelled();
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(1)));
  EXPECT_EQ(ran.load(), 0);
}

// As test_cancel_children_on_child_error: failing children cancel their siblings and the
// body; every failure is collected; the code after the group does not run; the cancelled
// siblings' handles say cancelled.
TEST(TaskGroupParity, ChildFailuresCancelSiblingsAndTheBodyAndAreAllCollected) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    std::atomic<bool> body_cancelled{false};
    std::atomic<bool> after_group{false};
    ChildHandle<void> sibling;
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          sibling = group.spawn(sleep_long(&cancelled));
          for (int i = 0; i < 3; ++i) group.spawn(fail_after_yield("zero division"));
          try {
            co_await weft::sleep(10s);
          } catch (const CancelledError&) {
            body_cancelled = true;
            throw;
          }
        });
        after_group = true;
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    const auto errors = weft::run(body(), weft::test::options(loops));
    // The first failure's cancel may reach the other two before they fail: at least one,
    // all of the same kind.
    ASSERT_FALSE(errors.empty());
    for (const std::string& e : errors) EXPECT_EQ(e, "zero division");
    EXPECT_TRUE(sibling.cancelled());
    EXPECT_TRUE(body_cancelled.load());
    EXPECT_FALSE(after_group.load());
  }
}

// As test_taskgroup_09/10: the body's own failure cancels the children it spawned.
TEST(TaskGroupParity, BodyFailureCancelsItsChildren) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    ChildHandle<void> a;
    ChildHandle<void> b;
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          a = group.spawn(sleep_long(&cancelled));
          b = group.spawn(sleep_long(&cancelled));
          co_await weft::yield();
          throw std::runtime_error("body");
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), std::vector<std::string>{"body"});
    EXPECT_TRUE(a.cancelled());
    EXPECT_TRUE(b.cancelled());
  }
}

// group.cancel() from a child: the body and every child are cancelled, their clean-up runs
// to its end, and only then does with_task_group end, in CancelledError.
TEST(TaskGroupParity, GroupCancelCancelsAndJoinsEveryChildThenEndsInCancelledError) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cleaned_up{0};
    std::atomic<int> started{0};
    auto slow_cleanup = [&]() -> Task<void> {
      started.fetch_add(1);
      try {
        co_await weft::sleep(10s);
      } catch (const CancelledError&) {
      }
      co_await weft::yield();  // clean-up that suspends
      cleaned_up.fetch_add(1);
      throw CancelledError();
    };
    auto body = [&]() -> Task<bool> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          for (int i = 0; i < 3; ++i) group.spawn(slow_cleanup());
          group.spawn([](TaskGroup& g, std::atomic<int>& s) -> Task<void> {
            EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return s.load() == 3; }));
            g.cancel();
          }(group, started));
          co_await weft::sleep(10s);
        });
      } catch (const CancelledError&) {
        co_return cleaned_up.load() == 3;
      }
      co_return false;
    };
    EXPECT_TRUE(weft::run(body(), weft::test::options(loops)))
        << "CancelledError before every child's clean-up had run";
  }
}

// group.cancel() when the body has returned a value and children still run: the group
// still ends in CancelledError (there is no value for an interrupted group).
TEST(TaskGroupParity, GroupCancelAfterTheBodyReturnedStillEndsInCancelledError) {
  std::atomic<int> cancelled{0};
  ChildHandle<void> sleeper;
  auto body = [&]() -> Task<bool> {
    try {
      (void)co_await weft::with_task_group([&](TaskGroup& group) -> Task<int> {
        sleeper = group.spawn(sleep_long(&cancelled));
        group.spawn([](TaskGroup& g) -> Task<void> {
          co_await weft::yield();
          g.cancel();
        }(group));
        co_return 1;
      });
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(1)));
  EXPECT_TRUE(sleeper.cancelled());
}

// As test_taskgroup_11/12: cancelling the task that runs nested groups cancels the inner
// group's children too, and CancelledError comes out once everything ended.
TEST(TaskGroupParity, OutsideCancelReachesNestedGroups) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    std::atomic<int> started{0};
    std::vector<ChildHandle<void>> children;  // pushed by the one task running both bodies
    auto owner = [&]() -> Task<void> {
      co_await weft::with_task_group([&](TaskGroup& outer) -> Task<void> {
        children.push_back(outer.spawn(sleep_long(&cancelled)));
        co_await weft::with_task_group([&](TaskGroup& inner) -> Task<void> {
          for (int i = 0; i < 5; ++i) children.push_back(inner.spawn(sleep_long(&cancelled)));
          started = 1;
          co_await weft::sleep(10s);
        });
      });
    };
    auto body = [&]() -> Task<bool> {
      weft::JoinHandle<void> h = weft::spawn(owner());
      EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return started.load() == 1; }));
      h.cancel();
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      try {
        co_await h;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    EXPECT_TRUE(weft::run(body(), weft::test::options(loops)));
    ASSERT_EQ(children.size(), 6u);
    for (const ChildHandle<void>& c : children) EXPECT_TRUE(c.cancelled());
  }
}

// As test_taskgroup_13: an outer child's failure cancels a nested group running in the body;
// the outer group reports only that failure (the inner group ended cancelled).
TEST(TaskGroupParity, OuterFailureCancelsANestedGroup) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    ChildHandle<void> inner_child;
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& outer) -> Task<void> {
          outer.spawn(fail_after_yield("outer"));
          co_await weft::with_task_group([&](TaskGroup& inner) -> Task<void> {
            inner_child = inner.spawn(sleep_long(&cancelled));
            co_return;
          });
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), std::vector<std::string>{"outer"});
    EXPECT_TRUE(inner_child.cancelled());
  }
}

// As test_taskgroup_14: a nested group's failure is one failure (a TaskGroupError) of the
// outer group, which cancels the outer's other children.
TEST(TaskGroupParity, NestedGroupFailureIsOneFailureOfTheOuterGroup) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    ChildHandle<void> outer_child;
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& outer) -> Task<void> {
          outer_child = outer.spawn(sleep_long(&cancelled));
          co_await weft::with_task_group([&](TaskGroup& inner) -> Task<void> {
            inner.spawn(fail_after_yield("inner"));
            co_return;
          });
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), std::vector<std::string>{"group(1)"});
    EXPECT_TRUE(outer_child.cancelled());
  }
}

// As asyncio (TaskGroup's done-callback runs before the awaiter wakes): a child's failure
// cancels the group before its handle wakes, so the body awaiting that handle gets
// CancelledError, at any loop count; the failure reaches the owner through the group, and
// the handle still holds it.
TEST(TaskGroupParity, ABodyAwaitingAFailedChildIsCancelledAndTheGroupReportsTheFailure) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> body_saw{0};  // 1: CancelledError, 2: the child's exception
    std::atomic<bool> handle_done{false};
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          ChildHandle<void> h = group.spawn(fail_after_yield("child"));
          try {
            co_await h;
          } catch (const CancelledError&) {
            body_saw = 1;
            handle_done = h.done() && !h.cancelled();
            throw;
          } catch (const std::runtime_error&) {
            body_saw = 2;
          }
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    for (int round = 0; round < 200; ++round) {
      EXPECT_EQ(weft::run(body(), weft::test::options(loops)),
                std::vector<std::string>{"child"});
      ASSERT_EQ(body_saw.load(), 1) << "round " << round;
      EXPECT_TRUE(handle_done.load());
    }
  }
}

// Once a failure has made the group cancel, a child spawned (here from a sibling's clean-up)
// starts cancelled: its work never runs and the group still ends with the one failure.
// (asyncio's create_task raises RuntimeError then; weft keeps spawn from failing in clean-up.)
TEST(TaskGroupParity, SpawnWhileTheGroupIsCancellingNeverRunsTheWork) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> late_ran{0};
    std::atomic<bool> sleeping{false};
    std::atomic<bool> spawned_late{false};
    auto late = [](std::atomic<int>& ran) -> Task<void> {
      ran.fetch_add(1);
      co_return;
    };
    auto spawns_in_cleanup = [&](TaskGroup& group) -> Task<void> {
      try {
        sleeping = true;
        co_await weft::sleep(10s);
      } catch (const CancelledError&) {
        group.spawn(late(late_ran));
        spawned_late = true;
        throw;
      }
    };
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          group.spawn(spawns_in_cleanup(group));
          EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return sleeping.load(); }));
          group.spawn(fail_after_yield("first"));
          co_return;
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), std::vector<std::string>{"first"});
    EXPECT_TRUE(spawned_late.load());
    EXPECT_EQ(late_ran.load(), 0) << "a child spawned into a cancelling group ran its work";
  }
}

// Cancelling a task that awaits a child's handle cancels that child (as awaiting a
// JoinHandle does), and the awaiter resumes only after the child has ended. The child's
// cancellation is not a failure of the group.
TEST(TaskGroupParity, CancelOfATaskAwaitingAChildHandleCancelsTheChild) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    std::atomic<int> cancelled{0};
    auto body = [&]() -> Task<bool> {
      bool child_ended_first = false;
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        ChildHandle<void> child = group.spawn(sleep_long(&cancelled));
        std::atomic<bool> waiting{false};
        weft::JoinHandle<void> waiter =
            weft::spawn([](ChildHandle<void>& c, std::atomic<bool>& w) -> Task<void> {
              w = true;
              co_await c;
            }(child, waiting));
        EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return waiting.load(); }));
        waiter.cancel();
        try {
          co_await waiter;
        } catch (const CancelledError&) {
          child_ended_first = child.done() && child.cancelled();
        }
      });
      co_return child_ended_first;
    };
    EXPECT_TRUE(weft::run(body(), weft::test::options(loops)));
  }
}

// A child awaiting its own handle would wait for its own end (and the group for it) forever:
// logic_error instead, which fails the group like any other exception.
TEST(TaskGroupParity, AChildAwaitingItsOwnHandleIsALogicError) {
  for (unsigned loops : kLoopCounts) {
    SCOPED_TRACE(loops);
    ChildHandle<int> self;
    std::atomic<bool> handle_set{false};
    auto body = [&]() -> Task<std::vector<std::string>> {
      try {
        co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
          self = group.spawn([](ChildHandle<int>& me, std::atomic<bool>& set) -> Task<int> {
            EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return set.load(); }));
            co_return co_await me;
          }(self, handle_set));
          handle_set = true;
          co_return;
        });
      } catch (const TaskGroupError& e) {
        co_return messages(e);
      }
      co_return std::vector<std::string>{};
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)),
              std::vector<std::string>{"weft::ChildHandle: a child cannot await its own handle"});
  }
}

}  // namespace
