#pragma once

// The handler behind Server::static_files: maps the rest of the path (the route's "*") to a
// file under a root directory, never outside it.

#include <filesystem>
#include <string_view>

#include "weft/http/router.hpp"

namespace weft::http::detail {

// The Content-Type for a file name, by extension; application/octet-stream if unknown.
[[nodiscard]] std::string_view content_type_for(std::string_view file_name) noexcept;

// std::invalid_argument if `root` is not a directory.
[[nodiscard]] Handler static_files_handler(const std::filesystem::path& root);

}  // namespace weft::http::detail
