"""The web scraper on a real site: Debian's python3-doc (about 530 pages, 50 MB of HTML).

The scraper serves the documentation itself (no URL given) and crawls it from index.html.
This check works out independently what the crawl must find, from the files on disk, with
Python's own HTML parser and URL functions (html.parser, urllib.parse.urljoin) under the same
rules: follow <a href> links of HTML pages only, on the same host and port, http only, the
fragment dropped; a page's depth is its shortest distance from index.html. It then runs the
scraper one level deeper than the deepest page (so the bottom pages are read too, and shown to
lead nowhere new) and compares: every reachable page visited exactly once, at its depth, no
other page; the errors are exactly the links to files that are not there (Debian ships
whatsnew/changelog.html gzipped, so that link is a real 404); and the summary's counts.

Then the same crawl over https: nginx serves the same directory with TLS, from a certificate
this check makes with `openssl req` and the scraper trusts through SSL_CERT_FILE, and the crawl
must find exactly the same pages, at the same depths, with the same errors.

python3-doc, nginx or openssl missing is a failure, not a skip: scripts/deps installs them.
Registered as its own test, example.tutorial.web_scraper.python_docs (label "long").
"""

import collections
import contextlib
import html.parser
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.parse

ROOT = "/usr/share/doc/python3-doc/html"
ORIGIN = "http://docs.test"  # stands for the scraper's 127.0.0.1:port; compared by path


class LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            for name, value in attrs:
                if name == "href":  # the first one, as a browser; no value is ""
                    self.hrefs.append((value or "").strip(" \t\n\f\r"))
                    break


def served_file(url):
    """The file weft's static file server answers `url` with, or None (a 404)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    full = os.path.join(ROOT, path.lstrip("/"))
    if os.path.isdir(full):
        full = os.path.join(full, "index.html")
    return full if os.path.isfile(full) else None


def model(origin_url=ORIGIN):
    """Breadth first from index.html, every page read: ({url: depth}, {missing url}, links,
    skipped, bytes)."""
    start = origin_url + "/index.html"
    depth = {start: 0}
    queue = collections.deque([start])
    missing, links, skipped, size = set(), 0, 0, 0
    origin = urllib.parse.urlsplit(start)
    while queue:
        url = queue.popleft()
        path = served_file(url)
        if path is None:
            missing.add(url)
            continue
        size += os.path.getsize(path)
        if not path.endswith((".html", ".htm")):
            continue
        parser = LinkParser()
        with open(path, encoding="utf-8", errors="replace") as f:
            parser.feed(f.read())
        links += len(parser.hrefs)
        for href in parser.hrefs:
            target, _ = urllib.parse.urldefrag(urllib.parse.urljoin(url, href))
            parts = urllib.parse.urlsplit(target)
            if parts.scheme != origin.scheme or parts.netloc != origin.netloc:
                skipped += 1
            elif target not in depth:
                depth[target] = depth[url] + 1
                queue.append(target)
    pages = {u.removeprefix(origin_url): d for u, d in depth.items() if u not in missing}
    return pages, {u.removeprefix(origin_url) for u in missing}, links, skipped, size


def differences(example, what, got, want):
    """Fails with the differences of two sets, a few of each printed."""
    extra, lost = sorted(got - want), sorted(want - got)
    if extra:
        example.fail(f"{len(extra)} {what} the crawl should not have: {extra[:10]}")
    if lost:
        example.fail(f"{len(lost)} {what} missing from the crawl: {lost[:10]}")


def check(example):
    if not os.path.isfile(os.path.join(ROOT, "index.html")):
        example.fail(f"python3-doc is not installed ({ROOT}/index.html is missing): "
                     "scripts/deps installs it (apt-get install python3-doc)")
        return

    # The crawl goes one level deeper than the deepest page, so it reads every page, as the
    # model does.
    want_pages, want_missing, want_links, want_skipped, want_bytes = model()
    deepest = max(want_pages.values())
    max_depth = deepest + 1
    print(f"model: {len(want_pages)} pages, deepest at {deepest}, {len(want_missing)} missing, "
          f"{want_links} links ({want_skipped} off the site), {want_bytes} bytes")

    out, _ = example.run("--list", "--max-depth", str(max_depth), "--loops", "2", timeout=600)
    compare(example, out, r"http://127\.0\.0\.1:\d+", want_pages, want_missing, want_links,
            want_skipped, want_bytes)

    # The same site over https, from nginx.
    https_model = model("https://docs.test")
    example.expect(https_model[0] == want_pages, "the https model finds the same pages")
    with nginx_https(example) as (origin, cert):
        if origin is None:
            return
        out, _ = example.run(origin + "/index.html", "--list", "--max-depth", str(max_depth),
                             "--loops", "2", timeout=600, env={"SSL_CERT_FILE": cert})
        compare(example, out, re.escape(origin), *https_model, check_bytes=False)


def compare(example, out, origin_pattern, want_pages, want_missing, want_links, want_skipped,
            want_bytes, check_bytes=True):
    """The crawl's --list output against the model."""
    m = example.expect_line(out, rf"^crawling ({origin_pattern})/index\.html ", "start")
    origin = m.group(1) if m else "?"
    seen = collections.defaultdict(list)
    for depth, url in re.findall(r"^page (\d+) 200 \d+ (\S+)$", out, re.MULTILINE):
        seen[url.removeprefix(origin)].append(int(depth))
    errors = collections.defaultdict(list)
    for url, reason in re.findall(r"^error (\S+): (.*)$", out, re.MULTILINE):
        errors[url.removeprefix(origin)].append(reason)

    twice = {u: d for u, d in seen.items() if len(d) != 1}
    example.expect(not twice, f"pages visited more than once: {list(twice.items())[:10]}")
    differences(example, "pages", set(seen), set(want_pages))
    wrong_depth = {u: (d[0], want_pages[u]) for u, d in seen.items()
                   if u in want_pages and d[0] != want_pages[u]}
    example.expect(not wrong_depth,
                   f"{len(wrong_depth)} pages at another depth (got, want): "
                   f"{list(wrong_depth.items())[:10]}")
    differences(example, "errors", set(errors), want_missing)
    for url, reasons in errors.items():
        example.expect(len(reasons) == 1 and reasons[0].startswith("HTTP 404 Not Found"),
                       f"{url}: {reasons}, expected one 404")

    m = example.expect_line(out, r"^summary: (.*)$", "the summary line")
    summary = dict(kv.split("=") for kv in m.group(1).split()) if m else {}
    expected_summary = {"pages": len(want_pages), "errors": len(want_missing),
                        "links": want_links, "skipped": want_skipped, "loops": 2,
                        "concurrency": 5}
    if check_bytes:  # nginx and weft's file server send the same files; 404 bodies differ
        expected_summary["bytes"] = want_bytes
    for key, value in expected_summary.items():
        example.expect(summary.get(key) == str(value),
                       f"summary {key}={summary.get(key)}, expected {value}")
    example.expect(float(summary.get("pages_per_s", 0)) > 0, "pages_per_s > 0")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def nginx_https(example):
    """nginx serving ROOT over TLS on a free loopback port: yields (origin, CA file), or
    (None, None) after a failure."""
    for tool in ("/usr/sbin/nginx", "/usr/bin/openssl"):
        if not os.access(tool, os.X_OK):
            example.fail(f"{tool} is missing: scripts/deps installs nginx-light and openssl")
            yield None, None
            return
    with tempfile.TemporaryDirectory(prefix="weft-https-crawl-") as prefix:
        cert, key = os.path.join(prefix, "cert.pem"), os.path.join(prefix, "key.pem")
        made = subprocess.run(
            ["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
             "2", "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            capture_output=True, text=True)
        if made.returncode != 0:
            example.fail(f"openssl req failed: {made.stderr}")
            yield None, None
            return
        port = free_port()
        mime = "include /etc/nginx/mime.types;" if os.path.isfile("/etc/nginx/mime.types") else ""
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  {mime}
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {ROOT};
  }}
}}
""")
        server = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c",
             os.path.join(prefix, "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        example.fail(f"nginx did not start: {server.stderr.read()}")
                        yield None, None
                        return
                    time.sleep(0.05)
            yield f"https://127.0.0.1:{port}", cert
        finally:
            server.terminate()
            server.wait(timeout=10)
