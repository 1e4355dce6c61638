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

python3-doc missing is a failure, not a skip: scripts/deps installs it.
Registered as its own test, example.tutorial.web_scraper.python_docs (label "long").
"""

import collections
import html.parser
import os
import re
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


def model():
    """Breadth first from index.html, every page read: ({url: depth}, {missing url}, links,
    skipped, bytes)."""
    start = ORIGIN + "/index.html"
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
            if parts.scheme != "http" or parts.netloc != origin.netloc:
                skipped += 1
            elif target not in depth:
                depth[target] = depth[url] + 1
                queue.append(target)
    pages = {u.removeprefix(ORIGIN): d for u, d in depth.items() if u not in missing}
    return pages, {u.removeprefix(ORIGIN) for u in missing}, links, skipped, size


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
    m = example.expect_line(out, r"^crawling (http://127\.0\.0\.1:\d+)/index\.html ", "start")
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
        example.expect(reasons == ["HTTP 404 Not Found"], f"{url}: {reasons}, expected one 404")

    m = example.expect_line(out, r"^summary: (.*)$", "the summary line")
    summary = dict(kv.split("=") for kv in m.group(1).split()) if m else {}
    for key, value in {"pages": len(want_pages), "errors": len(want_missing),
                       "links": want_links, "skipped": want_skipped, "bytes": want_bytes,
                       "loops": 2, "concurrency": 5}.items():
        example.expect(summary.get(key) == str(value),
                       f"summary {key}={summary.get(key)}, expected {value}")
    example.expect(float(summary.get("pages_per_s", 0)) > 0, "pages_per_s > 0")
