import http.server
import re
import socket
import threading

from checks._timing import with_timing_retry

PAGE_SIZES = [500, 1000, 4000, 10000, 16000]
DELAY = 2.0  # each page's, in tutorial seconds


class Page(http.server.BaseHTTPRequestHandler):
    """A server that is not weft's: 1234 bytes on every GET."""
    body = b"p" * 1234

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def check(example):
    # With no arguments: its own server, five slow pages, fetched at once.
    def run(env, timing):
        out, _ = example.run(env=env)
        example.expect_line(out, rf"^local server: 5 pages, each answered after {DELAY:.2f} s$",
                            "header")
        pages = re.findall(r"^http://127\.0\.0\.1:\d+/page-(\d+)\.html: (\d+) bytes$", out, re.M)
        example.expect([int(url) for url, _ in pages] == PAGE_SIZES,
                       f"expected the pages {PAGE_SIZES} in order, got {pages}")
        for url_size, got in pages:
            example.expect(url_size == got, f"page-{url_size}.html: got {got} bytes")
        total = example.seconds(
            out, rf"^5 URLs, {sum(PAGE_SIZES)} bytes, 0 failed, total: ([\d.]+) s$", "summary")
        if total is not None:
            # Five delays at once: about one, far from the sum of five (10 s).
            example.expect(total >= 0.95 * DELAY, f"5 fetches took {total} s, less than a delay")
            timing.expect(total < 2.5 * DELAY,
                          f"5 fetches took {total} s, expected about {DELAY} s")
    with_timing_retry(example, run)

    # With URLs: those, in order; one good (Python's server), two that fail. The failures are
    # reported per URL, the good one still fetched, and the exit status is 1.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        good = f"http://127.0.0.1:{server.server_address[1]}/hello"
        refused = f"http://127.0.0.1:{closed_port()}/"
        https = f"https://127.0.0.1:{closed_port()}/"
        out, _ = example.run(good, refused, https, expect_status=1)
    finally:
        server.shutdown()
        server.server_close()
    lines = out.splitlines()
    expected = [rf"{re.escape(good)}: 1234 bytes",
                rf"{re.escape(refused)}: error: .*cannot connect.*refused",
                rf"{re.escape(https)}: error: .*cannot connect.*refused",
                r"3 URLs, 1234 bytes, 2 failed, total: [\d.]+ s"]
    example.expect(len(lines) == len(expected) and
                   all(re.fullmatch(p, l) for p, l in zip(expected, lines)),
                   "expected one line per URL, in order, then the summary:\n  " +
                   "\n  ".join(expected))
