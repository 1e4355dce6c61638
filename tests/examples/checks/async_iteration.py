"""09_async_iteration: a Generator's values arrive one by one, in order, as they are made."""

import re


def check(example):
    out, _ = example.run()
    lines = out.splitlines()
    first_run = lines[:lines.index("sum 15")] if "sum 15" in lines else lines
    example.expect("sum 15" in lines, "the consumer summed 1..5 to 15")

    got = [(int(m.group(1)), float(m.group(2)))
           for m in (re.fullmatch(r"got (\d+) at ([0-9.]+) s", l) for l in first_run) if m]
    example.expect([v for v, _ in got] == [1, 2, 3, 4, 5],
                   f"values 1..5 in order, got {[v for v, _ in got]}")

    # Lazy pulls: each value is produced only when the consumer asks, so the two sides
    # alternate instead of the generator running ahead.
    steps = [l for l in first_run if re.fullmatch(r"(produce|got) .*", l)]
    expected = [s for i in range(1, 6) for s in (f"produce {i}", f"got {i}")]
    example.expect([s.split(" at ")[0] for s in steps] == expected,
                   f"produce/got alternate: {steps}")

    # Streamed: four waits of 0.5 s lie between the first value and the last, so the first
    # arrived well before the end (a generator that made all values before handing any out
    # would deliver them all at ~2.5 s).
    if len(got) == 5:
        times = [t for _, t in got]
        example.expect(times == sorted(times), f"arrival times increase: {times}")
        example.expect(times[4] - times[0] >= 1.9,
                       f"values 1 and 5 arrived {times[4] - times[0]:.2f} s apart, expected ~2")
        example.expect(times[4] < 10, f"the last value came at {times[4]} s, expected ~2.5")

    # Stopping early: 3 values produced, then the abandoned generator's clean-up ran before
    # the consumer moved on.
    if "sum 15" in lines:
        rest = lines[lines.index("sum 15") + 1:]
        expected = ["produce 1", "produce 2", "produce 3", "  (generator cleaned up)",
                    "stopped after 3 values; the generator cleaned up before this line"]
        example.expect(rest == expected, f"early stop: {rest}")
