// GET /debug/tasks (weft/http/task_dump_route.hpp): the task dump of the server's runtime, as
// text or JSON, listing the handler's own task; another format is refused.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/http/task_dump_route.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::Client;
using weft::http::ClientResponse;
using weft::io::SocketAddress;

Task<void> park_until(weft::Event& event) { co_await event.wait(); }

TEST(TaskDumpRoute, ServesTheDumpAsTextOrJson) {
  ClientResponse text;
  ClientResponse json;
  ClientResponse refused;
  weft::run(weft::wait_for(
                [](ClientResponse& t, ClientResponse& j, ClientResponse& r) -> Task<void> {
                  weft::Event event;
                  auto parked = weft::spawn(park_until(event), {.name = "parked"});
                  weft::http::Server server;
                  weft::http::mount_task_dump(server);
                  const SocketAddress address = server.listen(SocketAddress::parse("127.0.0.1:0"));
                  auto serving = weft::spawn(server.serve());
                  const std::string base = "http://" + address.to_string() + "/debug/tasks";
                  Client client;
                  t = co_await client.get(base);
                  j = co_await client.get(base + "?x=1&format=json");
                  r = co_await client.get(base + "?format=xml");
                  co_await client.close();
                  co_await server.shutdown(1s);
                  co_await serving;
                  event.set();
                  co_await parked;
                }(text, json, refused),
                20s),
            weft::test::options(2));

  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.headers.find("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(text.body.rfind("weft task dump: ", 0), 0u) << text.body;
  EXPECT_NE(text.body.find("'parked' park_until (spawned at task_dump_route_test.cpp:"),
            std::string::npos)
      << text.body;
  EXPECT_NE(text.body.find("weft::Event::wait() on 0x"), std::string::npos) << text.body;

  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.headers.find("Content-Type"), "application/json");
  EXPECT_EQ(json.body.rfind("{\"loops\":2,\"complete\":true,\"tasks\":[", 0), 0u) << json.body;
  EXPECT_NE(json.body.find("\"name\":\"parked\",\"coroutine\":\"park_until\""), std::string::npos)
      << json.body;

  EXPECT_EQ(refused.status, 400);
}

}  // namespace
