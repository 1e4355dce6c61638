import re

from checks._timing import with_timing_retry


def check(example):
    def run(env, timing):
        out, _ = example.run(env=env)
        lines = out.splitlines()

        def at(pattern, what):
            """Index of the first line matching `pattern` and the seconds it captured."""
            for i, line in enumerate(lines):
                m = re.fullmatch(pattern, line)
                if m:
                    return i, float(m.group(1))
            example.fail(f"no line matching /{pattern}/ ({what})")
            return None, None

        # 1. wait_for: the operation was cancelled and had finished before TimeoutError reached
        # main, at about 2 s: well before the operation's 5 s.
        op_i, _ = at(r"slow operation: cancelled at ([\d.]+) s", "the timed-out work cancelled")
        timeout_i, timeout = at(r"main: timed out at ([\d.]+) s", "the timeout")
        example.expect(not any(l.startswith("main: got") for l in lines),
                       "wait_for returned the slow operation's result")
        if op_i is not None and timeout_i is not None:
            example.expect(op_i < timeout_i, "TimeoutError arrived before the work had finished")
        if timeout is not None:
            example.expect(timeout >= 1.9, f"the timeout fired at {timeout} s, before 2 s")
            timing.expect(timeout < 3.5, f"the timeout fired at {timeout} s, expected ~2 s")

        # 2. cancel: the worker saw the cancel in its handler, then main saw it end cancelled.
        cancel_i, cancel = at(r"main: cancelling the worker at ([\d.]+) s", "main cancels")
        cleanup_i, _ = at(
            r"worker: cancelled at ([\d.]+) s after \d+ messages; closing the connection",
            "the worker's clean-up")
        ended_i, _ = at(r"main: the worker ended cancelled at ([\d.]+) s", "the join saw it")
        if None not in (cancel_i, cleanup_i, ended_i):
            example.expect(cancel_i < cleanup_i < ended_i,
                           "expected: main cancels, the worker cleans up, main sees it end")
        timing.expect(any(l.startswith("worker: message") for l in lines),
                      "the worker handled no message in the 3 s before it was cancelled")
        if cancel is not None:
            example.expect(cancel >= 4.9, f"main cancelled at {cancel} s, before 2 + 3 s")
            timing.expect(cancel < 6.5, f"main cancelled at {cancel} s, expected ~5 s")

        # 2 s of timeout + 3 s of worker: about 5 s. Had wait_for let the slow operation run to
        # its end, 8 s.
        total = example.seconds(out, r"^total: ([\d.]+) s$", "total")
        if total is not None:
            example.expect(total >= 4.9, f"total {total} s, less than 2 + 3 s of waits")
            timing.expect(total < 6.5, f"total {total} s, expected ~5 s")
    with_timing_retry(example, run)
