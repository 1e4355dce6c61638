#pragma once

// The task of one accepted connection of weft::http::Server (server_connection.cpp).

#include <memory>

#include "server_state.hpp"
#include "weft/io/tcp_stream.hpp"
#include "weft/task.hpp"

namespace weft::http::detail {

// Serves `tcp` until the connection ends (over TLS when the shard's listener is a TLS one),
// then takes `entry` out of the shard's registry, closes the socket and counts the connection
// ended. It must run even if cancelled before its first step (the acceptor marks it so).
[[nodiscard]] Task<void> serve_connection(std::shared_ptr<Server::State> state, Shard* shard,
                                          ConnectionEntry* entry, io::TcpStream tcp);

}  // namespace weft::http::detail
