#pragma once

// The links of an HTML page, read by a real HTML parser (libxml2's, which recovers from broken
// markup as browsers do), not by a regular expression: comments, scripts, entities, unquoted
// or upper-case attributes and unclosed tags all come out as a browser would see them.

#include <string>
#include <string_view>
#include <vector>

namespace scraper {

// The href of every <a> element that has one, in document order, entities decoded and the
// surrounding whitespace removed: "a.html", "../b/", "#top", "mailto:x@y"... (<base href> is
// not read: links are relative to the page's own URL.) Never throws on bad markup, since the
// parser recovers from anything as a browser does; only running out of memory throws.
// Thread-safe: call it from any thread.
[[nodiscard]] std::vector<std::string> html_links(std::string_view html);

}  // namespace scraper
