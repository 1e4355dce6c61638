import re


def check(example):
    out, _ = example.run()
    base = r"http://127\.0\.0\.1:\d+"
    expected = [
        r"1\. exceptions from awaited tasks",
        # The exception crossed the co_await, from a Task and from a spawned task's handle.
        r"caught from a Task: no user with id -1",
        r"caught from a JoinHandle: no user with id -2",
        r"2\. one good request, one failing",
        # gather: the first failure, rethrown.
        rf"gather threw: HTTP 404 from {base}/users/2",
        # gather_settled: both outcomes, in the order of the requests.
        rf"gather_settled: {base}/users/1: ok: Ada",
        rf"gather_settled: {base}/users/2: failed: HTTP 404 from {base}/users/2",
        r"1 ok, 1 failed",
    ]
    lines = out.splitlines()
    example.expect(len(lines) == len(expected) and
                   all(re.fullmatch(p, l) for p, l in zip(expected, lines)),
                   "expected these lines, in order:\n  " + "\n  ".join(expected))
