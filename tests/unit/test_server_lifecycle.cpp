// The Server object in-process (no child process): what its destructor does with requests in flight.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include <asio/io_context.hpp>

#include "providers/registry.hpp"
#include "server/server.hpp"

using glm::Json;

namespace {

// Accepts connections (kernel backlog) and never answers: requests to it stay in flight.
struct BlackHole {
  int fd = -1;
  int port = 0;
  BlackHole() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 64);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~BlackHole() { close(fd); }
};

}  // namespace

TEST_CASE("~Server cancels every request in flight, each answered once (issue 11, defect 14)") {
  // ~Server cancelled sessions while iterating sessions_, and each cancel erased its own entry: a
  // use-after-free the ASan build reports, and in a release build later sessions could be skipped.
  BlackHole hole;
  asio::io_context io;
  std::vector<Json> sent;
  glm::Config config = glm::Config::defaults(glm::provider_kinds());
  REQUIRE_FALSE(glm::apply_config(
      config, {{"default_model", "openai/glm-4"},
               {"providers", {{"openai", {{"base_url", "http://127.0.0.1:" + std::to_string(hole.port) + "/v1"}}}}}}));
  {
    glm::Server server(
        io, config, [&](glm::rpc::Framing, std::string&& m) { sent.push_back(Json::parse(m)); }, [](int) {});
    for (int i = 0; i < 8; ++i) {
      Json req = {{"jsonrpc", "2.0"},
                  {"id", i},
                  {"method", "chat"},
                  {"params", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}}};
      server.dispatcher().dispatch(glm::rpc::Frame{glm::rpc::Framing::lsp, req.dump()});
    }
    io.run_for(std::chrono::milliseconds(200));
    REQUIRE(sent.empty());  // all eight are waiting on the black hole
  }
  REQUIRE(sent.size() == 8);
  std::set<int> ids;
  for (const auto& m : sent) {
    REQUIRE(m["error"]["code"] == -32800);
    ids.insert(m["id"].get<int>());
  }
  REQUIRE(ids.size() == 8);
  io.run_for(std::chrono::milliseconds(50));  // sessions released from the loop
}
