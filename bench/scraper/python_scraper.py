#!/usr/bin/python3
"""The asyncio tutorial's web scraper in Python (asyncio + aiohttp + BeautifulSoup), the
comparison for weft's examples/tutorial/14_web_scraper.cpp (scripts/bench-scraper runs both
against the same local server).

    python_scraper.py URL [--max-depth N] [--concurrency N] [--list]

The same rules as weft's scraper, so both visit the same pages: the start page is depth 0
and a link found on a depth-d page is depth d + 1, fetched only up to --max-depth; links are
resolved against the page (urljoin), the fragment is dropped, only http:// links on the
start URL's host and port are followed, each URL is fetched once, only text/html responses
are parsed, and a failed page is reported and skipped. At most --concurrency requests are in
flight (an asyncio.Semaphore, as in the tutorial). Ends with the same one-line summary as
weft's: "summary: pages=... errors=... seconds=... pages_per_s=...".

Needs Debian's python3-aiohttp and python3-bs4 (scripts/bench-scraper installs them); run it
with Debian's /usr/bin/python3, which sees those packages.
"""

import argparse
import asyncio
import sys
import time
from urllib.parse import urldefrag, urljoin, urlsplit

import aiohttp
from bs4 import BeautifulSoup


class Crawl:
    def __init__(self, start, max_depth, concurrency, listing):
        self.origin = urlsplit(start)[:2]  # (scheme, host:port)
        self.max_depth = max_depth
        self.semaphore = asyncio.Semaphore(concurrency)
        self.listing = listing
        self.seen = set()
        self.pages = 0
        self.errors = 0
        self.links = 0
        self.skipped = 0
        self.bytes = 0

    def follow(self, page_url, href):
        """The absolute URL to crawl for `href` on `page_url`, or None to skip it."""
        url, _fragment = urldefrag(urljoin(page_url, href.strip()))
        parts = urlsplit(url)
        if parts.scheme != "http" or parts[:2] != self.origin:
            return None
        return url

    async def visit(self, session, url, depth):
        # asyncio runs one task at a time, so the set needs no lock: the check and the add
        # happen with no await between them.
        if url in self.seen or depth > self.max_depth:
            return
        self.seen.add(url)
        try:
            async with self.semaphore:
                async with session.get(url, allow_redirects=False) as response:
                    body = await response.read()
                    content_type = response.headers.get("Content-Type", "")
                    status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            self.errors += 1
            print(f"error {url}: {type(e).__name__}: {e}")
            return
        if status != 200:
            self.errors += 1
            print(f"error {url}: HTTP {status}")
            return
        self.pages += 1
        self.bytes += len(body)
        if self.listing:
            print(f"page {depth} {status} {len(body)} {url}")
        if not content_type.startswith("text/html") or depth == self.max_depth:
            return
        soup = BeautifulSoup(body, "html.parser")
        children = []
        for a in soup.find_all("a", href=True):
            self.links += 1
            target = self.follow(url, a["href"])
            if target is None:
                self.skipped += 1
            elif target not in self.seen:
                children.append(self.visit(session, target, depth + 1))
        await asyncio.gather(*children)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if not args.url.startswith("http://"):
        parser.error("only http:// URLs (as weft's scraper)")
    crawl = Crawl(args.url, args.max_depth, args.concurrency, args.list)
    start = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await crawl.visit(session, urldefrag(args.url)[0], 0)
    seconds = time.monotonic() - start
    print(f"summary: pages={crawl.pages} errors={crawl.errors} links={crawl.links} "
          f"skipped={crawl.skipped} bytes={crawl.bytes} seconds={seconds:.3f} "
          f"pages_per_s={crawl.pages / seconds:.1f} concurrency={args.concurrency}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
