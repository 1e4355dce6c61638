"""13_pitfalls: each pitfall shows up in the output, with weft's report where weft has one."""

import re

HEADINGS = ["(a) ", "(b) ", "(c) ", "(d) "]


def sections(example, out):
    """The output split at the four headings: {'a': [lines], ...}."""
    found, current = {}, None
    for line in out.splitlines():
        if line[:4] in HEADINGS:
            current = line[1]
            found[current] = []
        elif current is not None:
            found[current].append(line)
    example.expect(sorted(found) == ["a", "b", "c", "d"], f"four headings, got {sorted(found)}")
    return found


def check(example):
    out, _ = example.run()
    s = sections(example, out)

    # (a) Two tasks created and dropped: one report each, naming the coroutine and its line.
    never = [l for l in s.get("a", []) if re.fullmatch(
        r"  weft reported \[task_never_awaited\]: weft: task fetch_page \(13_pitfalls\.cpp:\d+\) "
        r"was destroyed without being awaited.*", l)]
    example.expect(len(never) == 2, f"(a): 2 never-awaited reports, got {len(never)}")

    # (b) The blocking call is reported while it runs and, once it suspends, by name; the
    # same call through to_thread is not reported at all.
    b = s.get("b", [])
    fix = next((i for i, l in enumerate(b)
                if l.startswith("  the same call through weft::to_thread")), len(b))
    example.expect(fix < len(b), "(b): the to_thread variant ran")
    example.expect(any(re.fullmatch(r"  weft reported \[stall\]: weft: loop 0 stalled: .*", l)
                       for l in b[:fix]), "(b): a stall report while the call blocked")
    named = (r"  weft reported \[stall_ended\]: .*'blocking fetch' "
             r"blocking_fetch \(13_pitfalls\.cpp:\d+\) ran at least \d+ ms.*")
    example.expect(any(re.fullmatch(named, l) for l in b[:fix]),
                   "(b): the stall_ended report names the blocking task")
    # The to_thread variant must not stall the loop for the call's 100 ms. A shorter report
    # can come from an overloaded machine (ctest -j2 beside a stress test) whose OS pauses the
    # loop's thread in the middle of some task run; the detector cannot tell the two apart.
    offloaded = [int(m.group(1)) for m in (re.match(
        r"  weft reported \[stall_ended\]: .*'offloaded fetch'.* ran at least (\d+) ms", l)
        for l in b[fix:]) if m]
    example.expect(not any(ms >= 60 for ms in offloaded),
                   f"(b): the to_thread variant stalled the loop: {b[fix:]}")

    # (c) Without a bound the tasks all wait at once; with Semaphore(100), never more than
    # 100, and 10000 tasks of 0.1 s, 100 at a time, take at least 100 rounds: 10 s.
    c = "\n".join(s.get("c", []))
    m = example.expect_line(c, r"^  without a bound: peak (\d+) in flight$", "(c) unbounded")
    if m:
        example.expect(int(m.group(1)) > 100, f"(c): unbounded peak {m.group(1)}, expected > 100")
    m = example.expect_line(
        c, r"^  with Semaphore\((\d+)\): peak (\d+) in flight, total: ([0-9.]+) s$", "(c) bounded")
    if m:
        bound, peak, total = int(m.group(1)), int(m.group(2)), float(m.group(3))
        example.expect(bound == 100 and 1 <= peak <= bound, f"(c): peak {peak}, bound {bound}")
        example.expect(total >= 9.9, f"(c): {total} s for 100 rounds of 0.1 s, expected >= 10")

    # (d) The unclosed connections complain and stay counted; with_resource closed its three.
    d = s.get("d", [])
    example.expect(d.count("  Connection: destroyed while still open") == 3,
                   f"(d): 3 complaints from unclosed connections: {d}")
    example.expect("  without aclose: 3 still open at the end; with with_resource: 0 still open"
                   in d, "(d): the open counts")
