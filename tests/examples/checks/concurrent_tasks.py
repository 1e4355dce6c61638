import re

from checks._timing import with_timing_retry


def check(example):
    users = {1: "Ada", 2: "Grace", 3: "Linus"}

    def run(env, timing):
        out, _ = example.run(env=env)
        for uid, name in users.items():
            example.expect_line(out, rf"^user {uid}: {name}$", f"the result of user {uid}")
        events = re.findall(r"^fetch_user\((\d)\): (start|done) at [\d.]+ s$", out, re.MULTILINE)
        example.expect(
            sorted(events) == sorted((str(u), e) for u in users for e in ("start", "done")),
            f"expected a start and a done line per user, got {events}")
        # All three were running before any had finished (each waits 1 s after its start).
        kinds = [e for _, e in events]
        timing.expect("done" in kinds and kinds.index("done") == 3,
                      "all three fetches should start before the first one is done")
        total = example.seconds(out, r"^3 users, total: ([\d.]+) s \(one at a time: 3 s\)$",
                                "total")
        if total is not None:
            # Three overlapping 1 s waits: about 1 s. One after another: 3 s.
            example.expect(total >= 0.95, f"3 fetches took {total} s, less than one wait")
            timing.expect(total < 2.0, f"3 concurrent fetches took {total} s, expected ~1 s")
    with_timing_retry(example, run)
