import re

from checks._timing import with_timing_retry


def check(example):
    # The exact order, which is the point: a Task runs its body only when awaited; a spawned
    # task runs at once, while main sleeps. {s} stands for a number of seconds.
    expected = [
        "1. a coroutine, awaited where it is called",
        "main: calling work()",
        "work: running",
        "main: got 42",
        "2. a Task kept in a variable: lazy",
        "main: made the task, sleeping 1 s",
        "main: awaiting the task",           # before the lazy task's body ran
        "work: running",
        "main: got 42, {s} s after the task was made",
        "3. a JoinHandle from spawn: started at once",
        "main: spawning work(), sleeping 1 s",
        "work: running",                     # before main awaited: spawn started it
        "main: awaiting the handle",
        "main: got 42, {s} s after the spawn",
    ]
    patterns = [re.escape(e).replace(re.escape("{s}"), r"([\d.]+)") for e in expected]

    def run(env, timing):
        out, _ = example.run(env=env)
        lines = out.splitlines()
        matches = [re.fullmatch(p, l) for p, l in zip(patterns, lines)]
        if not example.expect(len(lines) == len(expected) and all(matches),
                              "the lines are not these, in this order:\n  " +
                              "\n  ".join(expected)):
            return
        lazy = float(matches[8].group(1))
        eager = float(matches[13].group(1))
        # Lazy: 1 s of main's sleep, then 1 s of work after the await (a wait never ends
        # early, so this holds on any machine). Eager: the work overlapped main's sleep.
        example.expect(lazy >= 1.9, f"the lazy task's result came {lazy} s after it was made, "
                                    "expected 2 s (it must not run before the await)")
        example.expect(eager >= 0.95, f"the spawned task's result came after {eager} s, < 1 s")
        timing.expect(eager < 1.8, f"the spawned task's result came {eager} s after the spawn, "
                                   "expected about 1 s (it runs while main sleeps)")
    with_timing_retry(example, run)
