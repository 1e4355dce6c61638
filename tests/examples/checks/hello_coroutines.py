import re

from checks._timing import with_timing_retry


def check(example):
    def run(env, timing):
        out, _ = example.run(env=env)
        lines = out.splitlines()
        if not example.expect(len(lines) == 6, f"expected 6 lines, got {len(lines)}"):
            return
        expected = [("Hello", 0.0), ("World", 1.0), ("1", 2.0), ("2", 3.0), ("3", 4.0)]
        # Exactly these lines, in this order, then the total.
        said = [re.fullmatch(r"\[([\d.]+) s\] (.*)", line) for line in lines[:-1]]
        if not example.expect(all(said) and [m.group(2) for m in said] == [t for t, _ in expected],
                              f"expected the lines {[t for t, _ in expected]} in order, "
                              f"got {lines[:-1]}"):
            return
        for m, (text, at) in zip(said, expected):
            # Each await pauses main for its second (never less); rough upper bound only.
            when = float(m.group(1))
            example.expect(when >= at * 0.95, f"'{text}' printed at {when} s, before {at} s")
            timing.expect(when < at + 1.5, f"'{text}' printed at {when} s, expected about {at} s")
        total = example.seconds(lines[-1], r"^total: ([\d.]+) s$", "the total")
        if total is not None:
            example.expect(total >= 3.8, f"total {total} s, less than the 4 s of waits")
            timing.expect(total < 6.0, f"total {total} s, expected about 4 s")
    with_timing_retry(example, run)
