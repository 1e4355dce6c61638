# weft_target_options(<target>): warnings and sanitizers for weft's own code only.
# Dependencies' headers are included as SYSTEM so their warnings never fail our build.
function(weft_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(WEFT_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 flags every std::atomic_thread_fence under TSan (-Wtsan), including those inside
    # moodycamel's header; weft's own code avoids fences under TSan (see BUILD_NOTES.md).
    target_compile_options(${target} PRIVATE -Wno-tsan)
    # GCC 12's -Wmissing-field-initializers (in -Wextra) also fires on designated
    # initializers that leave members to their defaults, `Options{.backlog = 0}`: the idiom
    # weft's option structs are made for (clang 14 does not warn there).
    target_compile_options(${target} PRIVATE -Wno-missing-field-initializers)
  endif()
endfunction()

# Sanitizers apply to everything built here (weft, its tests and benchmarks), so that
# instrumented and uninstrumented code never share a frame or a free list.
if(WEFT_SANITIZE)
  list(JOIN WEFT_SANITIZE "," _weft_san)
  add_compile_options(-fsanitize=${_weft_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_weft_san})
  if("undefined" IN_LIST WEFT_SANITIZE)
    # clang 14's -fsanitize=function cannot compile coroutines ("Cannot represent a
    # difference across sections", llvm/llvm-project#49689); every other UBSan check stays.
    add_compile_options(-fno-sanitize=function)
  endif()
  # A sanitizer's report needs files and lines, not types and variables. With line tables
  # only (clang), a test compiles about a fifth faster and its object is a third smaller than
  # with -g, and compiling and linking the tests is most of a sanitizer build. OFF gives the
  # build type's full debug information back (to step through a report in gdb).
  option(WEFT_SANITIZE_LINE_TABLES_ONLY "Sanitizer builds: -gline-tables-only instead of -g" ON)
  if(WEFT_SANITIZE_LINE_TABLES_ONLY)
    add_compile_options($<$<CXX_COMPILER_ID:Clang>:-gline-tables-only>)
  endif()
endif()
