// glm-mock-provider: the mock provider as a process, for the Lua/Neovim and shell e2e tests.
//   glm-mock-provider [--lifetime-s N] [--record FILE] [--demo]
// Prints `PORT <n>` as its first stdout line once listening on 127.0.0.1. Every request is answered by
// provider_replay() (directives: see mock_server.hpp); with --demo by its demo answers (mock_demo.cpp),
// which is what ./scripts/run.sh starts when no provider key is set. Exits 0 on SIGTERM/SIGINT/SIGHUP, when stdin (a
// pipe, socket or terminal) reaches EOF, or after N seconds (default 600, 0 = no limit), so a forgotten
// mock never outlives its test run for long.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "mock_server.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: glm-mock-provider [--lifetime-s N] [--record FILE] [--demo]\n");
  return 2;
}

bool watch_stdin() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0) return false;
  // /dev/null or a regular file would read EOF at once: only a pipe, socket or terminal means "a parent
  // that holds the other end".
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

}  // namespace

int main(int argc, char** argv) {
  long lifetime_s = 600;
  std::string record_path;
  bool demo = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--lifetime-s" && i + 1 < argc) {
      char* end = nullptr;
      lifetime_s = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || lifetime_s < 0) return usage();
    } else if (arg == "--record" && i + 1 < argc) {
      record_path = argv[++i];
    } else if (arg == "--demo") {
      demo = true;
    } else {
      return usage();
    }
  }

  // Block the stop signals before the server thread exists, so only signalfd sees them.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("signalfd");
    return 1;
  }

  std::ofstream record;
  if (!record_path.empty()) {
    record.open(record_path, std::ios::app);
    if (!record) {
      std::fprintf(stderr, "glm-mock-provider: cannot open %s\n", record_path.c_str());
      return 1;
    }
  }

  try {
    glm::mock::MockServer server;
    if (demo)
      server.set_responder([](const glm::mock::RecordedRequest& r) { return glm::mock::provider_replay(r, true); });
    if (record.is_open()) {
      // Runs on the server's loop thread only.
      server.set_on_request([&record](const glm::mock::RecordedRequest& r) {
        record << glm::mock::to_json_line(r) << '\n';
        record.flush();
      });
    }
    std::cout << "PORT " << server.port() << std::endl;

    const bool stdin_watched = watch_stdin();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lifetime_s);
    for (;;) {
      int timeout_ms = -1;
      if (lifetime_s > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        timeout_ms = int(std::min<long long>(left.count(), 60000));
      }
      pollfd fds[2] = {{sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      int n = poll(fds, stdin_watched ? 2 : 1, timeout_ms);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (fds[0].revents) break;  // a stop signal
      if (stdin_watched && fds[1].revents) {
        char buf[4096];
        ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) break;  // EOF: the parent went away
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glm-mock-provider: %s\n", e.what());
    return 1;
  }
  return 0;
}
