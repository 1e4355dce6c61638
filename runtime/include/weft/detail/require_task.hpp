#pragma once

#include "weft/runtime_export.hpp"

// What a public entry point that needs a runtime does when called outside one.

namespace weft::detail {

// Throws std::logic_error "<api>: not inside a weft task (...)". `api` is the public function
// or expression the user wrote (`weft::spawn`, `co_await weft::sleep`), never an internal one.
[[noreturn]] WEFT_RUNTIME_API void throw_no_current_task(const char* api);

// For a synchronous entry point that needs a loop (one that binds a socket or registers an
// fd): throws as above unless this thread is running one of a runtime's loops. Called first,
// before anything is opened or bound, so the error names the function the user called and
// leaves nothing half made (a port bound, then closed).
WEFT_RUNTIME_API void require_loop(const char* api);

}  // namespace weft::detail
