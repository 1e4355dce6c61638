#!/usr/bin/env python3
"""Runs one tutorial example and checks its output for what the tutorial promises.

    check_tutorial.py NAME BINARY

ctest sets WEFT_EXAMPLE_TIME_SCALE=0.01 (examples/tutorial/tutorial_time.hpp): one tutorial
second lasts 10 ms, and the examples print elapsed times back in tutorial seconds. The checks
for NAME live in checks/NAME.py as `check(example)`; they use the Example object below, which
runs the binary, and its `expect*` methods, which collect failures instead of stopping at the
first. Timing checks are rough bounds only ("about one wait, not three"), never benchmarks.
"""

import importlib.util
import os
import re
import subprocess
import sys


class Example:
    def __init__(self, name, binary):
        self.name = name
        self.binary = binary
        self.failures = []

    def run(self, *args, timeout=90, env=None, expect_status=0, stdin=None):
        """Runs the example; returns (stdout, stderr). Checks the exit status."""
        full_env = dict(os.environ)
        full_env.setdefault("WEFT_EXAMPLE_TIME_SCALE", "0.01")
        if env:
            full_env.update(env)
        try:
            r = subprocess.run([self.binary, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=timeout, env=full_env,
                               input=stdin)
        except subprocess.TimeoutExpired as e:
            self.fail(f"{self.name} {' '.join(args)} did not finish in {timeout} s; stdout so far:"
                      f"\n{e.stdout}")
            return "", ""
        sys.stdout.write(f"--- {self.name} {' '.join(args)} (exit {r.returncode})\n{r.stdout}")
        if r.stderr:
            sys.stdout.write(f"--- stderr\n{r.stderr}")
        if expect_status is not None and r.returncode != expect_status:
            self.fail(f"exit status {r.returncode}, expected {expect_status}")
        return r.stdout, r.stderr

    def fail(self, message):
        self.failures.append(message)

    def expect(self, condition, message):
        if not condition:
            self.fail(message)
        return condition

    def expect_line(self, text, pattern, what=None):
        """The first match of regex `pattern` (multiline) in text, or None (a failure)."""
        m = re.search(pattern, text, re.MULTILINE)
        self.expect(m is not None, f"no line matching /{pattern}/" + (f" ({what})" if what else ""))
        return m

    def seconds(self, text, pattern, what):
        """A number of tutorial seconds captured by group 1 of `pattern`."""
        m = self.expect_line(text, pattern, what)
        return float(m.group(1)) if m else None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, binary = sys.argv[1], sys.argv[2]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks", name + ".py")
    spec = importlib.util.spec_from_file_location("check_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    example = Example(name, binary)
    module.check(example)
    for f in example.failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"{name}: {len(example.failures)} failure(s)", file=sys.stderr)
    return 1 if example.failures else 0


if __name__ == "__main__":
    sys.exit(main())
