from checks._timing import with_timing_retry


def check(example):
    def run(env, timing):
        out, _ = example.run(env=env)
        for users, latency in ((3, 1.0), (100, 0.1)):
            waits = users * latency
            for way in ("blocking", "weft tasks"):
                m = example.expect_line(
                    out,
                    rf"^{users} users x {latency:.2f} s, {way}: got (\d+), "
                    rf"total: ([\d.]+) s \(the waits add up to {waits:.2f} s\)$",
                    f"{users} users, {way}")
                if not m:
                    continue
                example.expect(int(m.group(1)) == users,
                               f"{way} got {m.group(1)} of {users} users")
                total = float(m.group(2))
                if way == "blocking":
                    # One call after another: the waits add up (a wait never ends early).
                    example.expect(total >= 0.95 * waits,
                                   f"{users} blocking calls took {total} s, less than the sum "
                                   f"of their waits ({waits} s)")
                else:
                    # All at once: about one wait. Rough: well under the sum, within a second
                    # of one wait.
                    example.expect(total >= 0.95 * latency,
                                   f"{users} weft tasks took {total} s, less than one wait")
                    timing.expect(total < min(waits / 2, latency + 1.0),
                                  f"{users} weft tasks took {total} s: expected about one wait "
                                  f"({latency} s), not the sum ({waits} s)")
    with_timing_retry(example, run)
