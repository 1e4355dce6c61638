#include "scraper/html_links.hpp"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include <climits>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

namespace scraper {

namespace {

// What the parser's callback fills in. An exception must not unwind through libxml2's C
// frames, so the callback stores it, stops the parser, and html_links() rethrows it.
struct Collector {
  xmlParserCtxt* parser = nullptr;
  std::vector<std::string> hrefs;
  std::exception_ptr error;
};

bool equals(const xmlChar* text, const char* literal) {
  return std::strcmp(reinterpret_cast<const char*>(text), literal) == 0;
}

// A URL in an attribute, without the whitespace HTML ignores around it.
std::string trimmed_url(const xmlChar* value) {
  std::string_view text(value != nullptr ? reinterpret_cast<const char*>(value) : "");
  constexpr std::string_view kSpace = " \t\n\f\r";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(kSpace) + 1 - first));
}

// Called for every start tag, names lowercased and attribute values with their entities
// decoded ("a&amp;b" is "a&b"); `attributes` is name, value, name, value..., nullptr.
void on_start_tag(void* user, const xmlChar* name, const xmlChar** attributes) {
  auto& collector = *static_cast<Collector*>(user);
  if (!equals(name, "a") || attributes == nullptr || collector.error) return;
  for (const xmlChar** attribute = attributes; *attribute != nullptr; attribute += 2) {
    if (!equals(attribute[0], "href")) continue;
    try {
      // `<a href>` without a value is an empty URL: the page itself, as in a browser.
      collector.hrefs.push_back(trimmed_url(attribute[1]));
    } catch (...) {
      collector.error = std::current_exception();
      xmlStopParser(collector.parser);
    }
    return;  // a repeated href is ignored, as browsers do
  }
}

struct FreeParser {
  void operator()(htmlParserCtxt* parser) const noexcept { htmlFreeParserCtxt(parser); }
};

}  // namespace

std::vector<std::string> html_links(std::string_view html) {
  // libxml2 asks to be initialised once before it is used from several threads; a static
  // local runs it exactly once, whichever thread comes first.
  static const bool initialised = (xmlInitParser(), true);
  (void)initialised;

  Collector collector;
  if (html.size() > INT_MAX) return {};  // libxml2 takes an int size; no page is that big
  // A SAX parser with a single callback: no document tree is built, only the links are kept
  // (twice as fast as building the tree and walking it, on python3-doc). No encoding given:
  // the page's <meta charset> decides, as in a browser.
  htmlSAXHandler handler{};
  handler.startElement = on_start_tag;
  const std::unique_ptr<htmlParserCtxt, FreeParser> parser(
      htmlCreatePushParserCtxt(&handler, &collector, nullptr, 0, nullptr, XML_CHAR_ENCODING_NONE));
  if (!parser) throw std::bad_alloc();
  collector.parser = parser.get();
  // Recover from broken markup as browsers do, keep quiet about it, and never touch the
  // network (a DOCTYPE's DTD is not fetched).
  htmlCtxtUseOptions(parser.get(), HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                       HTML_PARSE_NONET);
  htmlParseChunk(parser.get(), html.data(), static_cast<int>(html.size()), /*terminate=*/1);
  if (collector.error) std::rethrow_exception(collector.error);
  return std::move(collector.hrefs);
}

}  // namespace scraper
