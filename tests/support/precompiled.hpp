// The headers that most tests include, compiled once for all of them (see tests/CMakeLists.txt).
// Only stable, widely used headers belong here: a change to any of them rebuilds every test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <weft/http/server.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/task_group.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>
