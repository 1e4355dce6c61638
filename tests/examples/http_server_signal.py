#!/usr/bin/env python3
"""The HTTP server example's graceful stop: started on a free port, asked one question, sent
SIGTERM or SIGINT (argv[2]); it must say which signal stopped it, report the one request and
exit 0. Its wait is weft::signal with RuntimeOptions::signals, so this checks that a signal
sent to the process reaches the task instead of ending the process."""

import signal
import subprocess
import sys
import urllib.request


def main():
    binary, name = sys.argv[1], sys.argv[2]
    proc = subprocess.Popen([binary, "0"], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        if not first.startswith("serving http://"):
            print(f"unexpected first line: {first!r}")
            return 1
        url = first.split()[1]
        with urllib.request.urlopen(url + "hello/weft", timeout=10) as response:
            body = response.read().decode()
        if body != "hello, weft\n":
            print(f"unexpected body: {body!r}")
            return 1
        proc.send_signal(getattr(signal, name))
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(first + rest, end="")
    if proc.returncode != 0:
        print(f"exit status {proc.returncode}")
        return 1
    if f"{name}: stopping" not in rest or "stopped after 1 requests" not in rest:
        print("missing the stop report")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
