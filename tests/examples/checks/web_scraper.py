"""The web scraper on a small generated site whose every page and link is known.

The site (written to a temporary directory) has links that are relative with "./" and "../",
absolute-path, with a query, with a fragment to drop, with an entity and padding spaces, in an
upper-case or unquoted tag; a cycle; twenty pages at one level that all link to one page; a
missing page; links off the site (another host, another port, https:, mailto:, javascript:);
a text file (fetched, not parsed) and links a parser must not see (in a comment, in a script,
in the text file). Every page the crawl must not reach exists on disk, so reaching one shows
as an extra page, not as an error.

The scraper serves it with --serve, and crawls it again from Python's own http.server (an
explicit URL: another server, HTTP/1.0), which never answers one page. Each run must list
exactly the expected pages, each once, at its shortest depth, the missing page (and the
unanswered one: a timeout) as one error line each, and a summary whose counts match the site.
Also: an unreachable server (a connection error, and the crawl ends normally) and
command-line errors (exit 2 and the usage).

The scraper's other test, web_scraper_python_docs.py, crawls Debian's python3-doc.
"""

import contextlib
import functools
import http.server
import os
import re
import socket
import tempfile
import threading

# The links of each page: (href as written in the tag, is it off the site?). The tag itself is
# written by `tag` below, in several styles.
OFF = True
PAGES = {
    "index.html": [
        ("a/", False),
        ("docs/guide.html#intro", False),  # the fragment is dropped
        ("search.html?q=weft", False),
        ("search.html?q=weft&amp;page=2#results", False),  # &amp; is "&" in the URL
        ("mailto:someone@example.invalid", OFF),
        ("javascript:void(0)", OFF),
        ("https://example.invalid/secure", OFF),
        ("http://example.invalid/", OFF),
        ("http://127.0.0.1:1/index.html", OFF),  # same host, another port
        ("missing.html", False),  # 404
        ("notes.txt", False),  # text/plain: fetched, never parsed
        ("#top", False),  # this page again
        ("  with space.html  ", False),  # trimmed, then "with%20space.html"
        ("list/", False),
        ("deep/d1.html", False),
        ("slow.html", False),  # never answered by the stalling server: a timeout
    ],
    "a/index.html": [("./b.html", False), ("../docs/guide.html", False), ("/index.html", False),
                     ("c/", False), ("b.html#x", False)],
    "a/b.html": [("../common.html", False), ("c/../../index.html", False)],
    "a/c/index.html": [("../../deep/d1.html", False), ("../b.html", False)],
    "docs/guide.html": [("../a/b.html#section", False), ("/common.html", False),
                        ("HTTP://EXAMPLE.INVALID/x", OFF)],
    "search.html": [("/common.html", False), ("?q=other#frag", False)],
    "with space.html": [("common.html", False)],
    "common.html": [("index.html", False), ("#frag", False)],
    "list/index.html": [(f"p{i:02}.html", False) for i in range(20)],
    # Twenty pages, fetched at once, that all find popular.html: it must be fetched once.
    **{f"list/p{i:02}.html": [("../popular.html", False), (f"p{(i + 1) % 20:02}.html", False),
                              ("../list/./p00.html", False)] for i in range(20)},
    "popular.html": [("never.html", False)],
    "never.html": [],
    "slow.html": [],
    "deep/d1.html": [("d2.html", False)],
    "deep/d2.html": [("d3.html", False)],
    "deep/d3.html": [("d4.html", False)],
    "deep/d4.html": [("d5.html", False)],
    "deep/d5.html": [],
    # Reachable only by a mistake: through the text file, a comment, a script, or nowhere.
    "from-text.html": [],
    "commented.html": [],
    "scripted.html": [],
    "unlinked.html": [],
}

# Every URL path the crawl reaches, with its depth (the shortest number of clicks from
# index.html); the query stays part of the URL.
DEPTHS = {
    "/index.html": 0,
    **{u: 1 for u in ["/a/", "/docs/guide.html", "/search.html?q=weft",
                      "/search.html?q=weft&page=2", "/notes.txt", "/with%20space.html", "/list/",
                      "/deep/d1.html", "/slow.html"]},
    **{u: 2 for u in ["/a/b.html", "/a/c/", "/common.html", "/search.html?q=other",
                      "/deep/d2.html"] + [f"/list/p{i:02}.html" for i in range(20)]},
    "/popular.html": 3, "/deep/d3.html": 3,
    "/never.html": 4, "/deep/d4.html": 4,
    "/deep/d5.html": 5,
}
MISSING = {"/missing.html": 1}  # linked from index.html, not on disk


def tag(i, href):
    """An <a> element in one of several styles a browser reads alike."""
    if i % 3 == 1:
        return f'<A HREF="{href}">link {i}</A>'
    if i % 3 == 2 and not any(c in href for c in " \"'=<>`&#"):
        return f"<a class=x href={href}>link {i}"  # unquoted and never closed
    return f'<p><a href="{href}" title="link {i}">link {i}</a></p>'


def write_site(root):
    for path, links in PAGES.items():
        body = "\n".join(tag(i, href) for i, (href, _) in enumerate(links))
        extra = ""
        if path == "index.html":
            extra = ('<!-- <a href="commented.html">old</a> -->\n'
                     "<script>var s = '<a href=\"scripted.html\">';</script>\n"
                     "<a name=top>no href: not a link</a>\n")
        html = (f"<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>{path}</title></head>"
                f"<body>\n{extra}{body}\n</body></html>\n")
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(html)
    with open(os.path.join(root, "notes.txt"), "w", encoding="utf-8") as f:
        f.write('Plain text, not HTML: <a href="from-text.html">not a link</a>\n')


def file_of(root, url_path):
    """The file a URL path is served from (the query does not matter)."""
    path = url_path.split("?")[0].replace("%20", " ")
    if path.endswith("/"):
        path += "index.html"
    return os.path.join(root, path.lstrip("/"))


def expected(root, max_depth, stalled):
    """Pages (path -> depth), errors, and the summary's links / skipped / bytes."""
    pages = {u: d for u, d in DEPTHS.items() if d <= max_depth and u not in stalled}
    errors = {u for u, d in [*MISSING.items(), *DEPTHS.items()]
              if d <= max_depth and (u in MISSING or u in stalled)}
    links = skipped = 0
    for u, d in pages.items():
        if d < max_depth and not u.endswith(".txt"):  # the last level is not parsed, nor text
            page_links = PAGES[os.path.relpath(file_of(root, u), root)]
            links += len(page_links)
            skipped += sum(1 for _, off in page_links if off)
    size = sum(os.path.getsize(file_of(root, u)) for u in pages)
    return pages, errors, {"links": links, "skipped": skipped, "bytes": size}


def parse_run(example, out):
    """(origin, {path: [depths]}, {path: [reasons]}, {summary field: value})."""
    m = example.expect_line(out, r"^crawling (http://[^/]+)/index\.html", "the start line")
    origin = m.group(1) if m else "http://?"
    pages, errors = {}, {}
    for depth, url in re.findall(r"^page (\d+) 200 \d+ (\S+)$", out, re.MULTILINE):
        pages.setdefault(url.removeprefix(origin), []).append(int(depth))
    for url, reason in re.findall(r"^error (\S+): (.*)$", out, re.MULTILINE):
        errors.setdefault(url.removeprefix(origin), []).append(reason)
    m = example.expect_line(out, r"^summary: (.*)$", "the summary line")
    summary = dict(kv.split("=") for kv in m.group(1).split()) if m else {}
    return origin, pages, errors, summary


def check_crawl(example, root, out, max_depth, what, not_found="HTTP 404 Not Found",
                stalled=(), timed_out=None):
    origin, pages, errors, summary = parse_run(example, out)
    want_pages, want_errors, want = expected(root, max_depth, stalled)
    for url, depths in pages.items():
        example.expect(len(depths) == 1, f"{what}: {url} visited {len(depths)} times")
        example.expect(url in want_pages, f"{what}: {url} should not have been visited")
        example.expect(url not in want_pages or depths[0] == want_pages[url],
                       f"{what}: {url} at depth {depths[0]}, expected {want_pages.get(url)}")
    for url in sorted(set(want_pages) - set(pages)):
        example.fail(f"{what}: {url} (depth {want_pages[url]}) was not visited")
    example.expect(set(errors) == want_errors,
                   f"{what}: errors for {sorted(errors)}, expected {sorted(want_errors)}")
    for url, reasons in errors.items():
        reason = timed_out if url in stalled else not_found
        example.expect(len(reasons) == 1 and re.fullmatch(reason, reasons[0]),
                       f"{what}: {url}: {reasons}, expected one /{reason}/")
    want_summary = {"pages": len(want_pages), "errors": len(want_errors), **want}
    for key, value in want_summary.items():
        example.expect(summary.get(key) == str(value),
                       f"{what}: summary {key}={summary.get(key)}, expected {value}")
    example.expect(float(summary.get("pages_per_s", 0)) > 0, f"{what}: pages_per_s > 0")
    return origin


class StallingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site, except /slow.html: it never answers (until the server stops)."""
    stop = None  # a threading.Event

    def do_GET(self):
        if self.path == "/slow.html":
            self.stop.wait(60)
            return  # closes the connection without a response
        super().do_GET()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def python_http_server(root):
    stop = threading.Event()
    handler = functools.partial(type("Handler", (StallingHandler,), {"stop": stop}),
                                directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def check(example):
    with tempfile.TemporaryDirectory(prefix="weft-scraper-site-") as root:
        write_site(root)

        # weft's static file server, several loops: the crawl and the depth cut.
        out, _ = example.run("--serve", root, "--list", "--max-depth", "3", "--loops", "2")
        check_crawl(example, root, out, 3, "--serve, depth 3")
        example.expect_line(out, r"^Crawled \d+ pages .* on 2 loops", "the sentence")
        # Every level read: the pages at depth 4 and 5 too; then depth 0: the start page only.
        out, _ = example.run("--serve", root, "--list", "--max-depth", "10", "--loops", "2",
                             "--concurrency", "3")
        check_crawl(example, root, out, 10, "--serve, depth 10")
        out, _ = example.run("--serve", root, "--list", "--max-depth", "0", "--loops", "1",
                             "--concurrency", "1")
        check_crawl(example, root, out, 0, "--serve, depth 0")

        # Another server, by URL: Python's http.server (HTTP/1.0, a connection per request),
        # which never answers /slow.html: a timeout for that page, and the crawl goes on. The
        # timeout only has to outlast every page that is answered, so it is generous: on a
        # loaded 2-core machine (ctest -j2, sanitizers) Python's server is slow too.
        with python_http_server(root) as origin:
            out, _ = example.run(origin + "/index.html", "--list", "--max-depth", "3",
                                 "--timeout", "3")
            check_crawl(example, root, out, 3, "http.server", not_found=r"HTTP 404 .+",
                        stalled={"/slow.html"},
                        timed_out=r"weft::http: \S+: not complete after 3000 ms \(total_timeout\)")

    # https is crawled like http: nothing listening is an error for the page.
    url = f"https://127.0.0.1:{closed_port()}/"
    out, _ = example.run(url, "--list")
    example.expect_line(out, rf"^error {re.escape(url)}: .*cannot connect.*refused",
                        "an https start URL is fetched, and its failure reported")

    # Nothing listens: one error line for the start page, and a normal end.
    url = f"http://127.0.0.1:{closed_port()}/"
    out, _ = example.run(url, "--list")
    example.expect_line(out, rf"^error {re.escape(url)}: .*cannot connect.*refused",
                        "connection refused, reported for the page")
    example.expect_line(out, r"^summary: pages=0 errors=1 links=0 skipped=0 bytes=0 ",
                        "the summary of a crawl that found nothing")

    # Command-line errors: exit 2, the reason and the usage on stderr.
    for args, reason in [(["--bogus"], "unknown option '--bogus'"),
                         (["--max-depth", "deep"], "--max-depth takes a whole number"),
                         (["--concurrency", "0"], "--concurrency takes a whole number"),
                         (["--loops"], "--loops needs a value"),
                         (["--timeout", "0"], "--timeout takes seconds"),
                         (["ftp://example.invalid/"], 'unsupported scheme "ftp"'),
                         (["http://a.invalid/", "--serve", "/"], "not both"),
                         (["--serve", "/nonexistent-dir"], "not a directory")]:
        out, err = example.run(*args, expect_status=2)
        example.expect(reason in err, f"{args}: stderr should say {reason!r}")
        example.expect("usage: weft_tutorial_web_scraper" in err, f"{args}: usage on stderr")
        example.expect("summary:" not in out, f"{args}: nothing crawled")
    out, _ = example.run("--help")
    example.expect("--max-depth N" in out and "default 3" in out, "--help prints the usage")
