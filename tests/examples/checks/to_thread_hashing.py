"""12_to_thread_hashing: to_thread hashes off the loop (which keeps running) and in parallel."""

import hashlib
import re


def check(example):
    out, _ = example.run()

    # The digest of a known input is SHA-256's, whichever thread computed it.
    m = example.expect_line(out, r"^sha256 of 16 MiB of 'a': ([0-9a-f]{64})$", "the digest")
    if m:
        expected = hashlib.sha256(b"a" * (16 << 20)).hexdigest()
        example.expect(m.group(1) == expected, f"digest {m.group(1)}, hashlib says {expected}")

    # Off the loop, the ticker on the same loop kept ticking; inline, it could not run at all
    # (one loop: deterministic).
    off = example.expect_line(out, r"^to_thread: hashed in \d+ ms; the ticker ticked (\d+) times",
                              "ticks while the pool hashed")
    if off:
        example.expect(int(off.group(1)) >= 1, "the ticker ticked while to_thread hashed")
    on = example.expect_line(out, r"^inline: +hashed in \d+ ms; the ticker ticked (\d+) times "
                                  r"meanwhile; same digest: (\w+)$", "ticks while the loop hashed")
    if on:
        example.expect(int(on.group(1)) == 0, f"{on.group(1)} ticks while the loop was blocked")
        example.expect(on.group(2) == "yes", "the inline digest equals the to_thread one")

    # The parallel run's figures are printed for the reader, never asserted: CI machines are
    # small and shared, and sanitizers change the costs.
    example.expect_line(out, r"^64 x 1 MiB inline: \d+ ms; through to_thread: \d+ ms "
                             r"\(speedup [0-9.]+x, \d+ cores\)$", "the timing line")
    eq = example.expect_line(out, r"^digests equal: (\d+) of (\d+)$", "digest comparison")
    if eq:
        example.expect(eq.group(1) == eq.group(2) == "64", f"parallel digests: {eq.group(0)}")
