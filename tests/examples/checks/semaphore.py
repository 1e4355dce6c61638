"""11_semaphore: Semaphore(2) lets at most two of five workers in at a time."""

import re


def check(example):
    out, _ = example.run()
    events = re.findall(r"^worker (\d) (enter|leave) \(inside: (\d+)\) at [0-9.]+ s$", out,
                        re.MULTILINE)
    enters = [int(w) for w, kind, _ in events if kind == "enter"]
    leaves = [int(w) for w, kind, _ in events if kind == "leave"]
    example.expect(sorted(enters) == [1, 2, 3, 4, 5], f"all 5 entered once: {enters}")
    example.expect(sorted(leaves) == [1, 2, 3, 4, 5], f"all 5 left once: {leaves}")
    for w, kind, inside in events:
        example.expect(1 <= int(inside) <= 2 if kind == "enter" else int(inside) <= 1,
                       f"worker {w} {kind} with {inside} inside: more than 2 at once")
    for w in range(1, 6):
        lines = [i for i, (who, _, _) in enumerate(events) if int(who) == w]
        kinds = [events[i][1] for i in lines]
        example.expect(kinds == ["enter", "leave"], f"worker {w}: {kinds}, expected enter, leave")

    # Five 1 s jobs, two at a time: three rounds, so the total is about 3 jobs' time; one by
    # one it would be at least 5 (the jobs would not overlap). Measured in the jobs' own
    # duration (enter to leave, as printed), so a loaded machine that stretches every wait
    # does not fail the check; every wait lasts at least its length, so 3 s is a floor.
    m = example.expect_line(out, r"^5 workers, at most (\d+) inside at once, total: ([0-9.]+) s$",
                            "the summary")
    times = {(int(w), kind): float(t) for w, kind, t in
             re.findall(r"^worker (\d) (enter|leave) \(inside: \d+\) at ([0-9.]+) s$", out,
                        re.MULTILINE)}
    jobs = [times[(w, "leave")] - times[(w, "enter")] for w in range(1, 6)
            if (w, "enter") in times and (w, "leave") in times]
    if m and len(jobs) == 5:
        example.expect(int(m.group(1)) <= 2, f"peak {m.group(1)} inside, bound 2")
        total, job = float(m.group(2)), sum(jobs) / len(jobs)
        print(f"total {total:.2f} s = {total / job:.2f} jobs of {job:.2f} s (expected ~3, not 5)")
        example.expect(total >= 2.9, f"total {total} s: three rounds of 1 s take at least 3")
        example.expect(total < 4.5 * job,
                       f"total {total} s is {total / job:.2f} jobs of {job:.2f} s: expected ~3 "
                       f"(two at a time), one by one takes at least 5")
