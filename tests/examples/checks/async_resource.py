"""08_async_resource: with_resource releases the resource after the body, however it ends."""

import re


def check(example):
    out, _ = example.run()
    lines = out.splitlines()

    def index_of(pattern, what):
        for i, line in enumerate(lines):
            if re.fullmatch(pattern, line):
                return i
        example.fail(f"no line /{pattern}/ ({what})")
        return None

    outcomes = {
        "success": r"\[success\] -> 42",
        "error": r"\[error\] -> caught: the reply was malformed",
        "cancel": r"\[cancel\] -> CancelledError",
    }
    for case, outcome in outcomes.items():
        steps = [index_of(rf"\[{case}\] {step}", f"{case}: {step}")
                 for step in ("acquire", "use", "release")]
        steps.append(index_of(outcome, f"{case}: how the body ended"))
        if None not in steps:
            example.expect(steps == sorted(steps),
                           f"{case}: expected acquire, use, release, then the outcome; "
                           f"got them at lines {steps}")
        example.expect(sum(1 for l in lines if l == f"[{case}] release") == 1,
                       f"{case}: released exactly once")

    # The cancel came after 0.5 s of a 10 s query: the run ends near 0.5 s (plus the open
    # and the close), never near 10.
    took = example.seconds(out, r"^\[cancel\] cancelled after ([0-9.]+) s", "cancel time")
    if took is not None:
        example.expect(0.5 <= took < 5.0, f"the cancelled run took {took} s, expected ~0.7")
