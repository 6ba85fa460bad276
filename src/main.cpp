// glm-server: JSON-RPC 2.0 over stdin/stdout for GLM chat, explain and model listing.
// Wires the stdio transport to the server on one asio loop thread (docs/architecture.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "lsp/lsp_server.hpp"
#include "providers/registry.hpp"
#include "rpc/transport.hpp"
#include "server/server.hpp"

namespace {

const char* const kUsage =
    "usage: glm-server [--lsp] [--config PATH] [--log-file PATH] [--log-level LEVEL] [--drain] [--version] [--help]\n"
    "\n"
    "Speaks JSON-RPC 2.0 on stdin/stdout (Content-Length framing, or one JSON value per line).\n"
    "Methods: initialize, shutdown, exit, $/cancelRequest, chat, explain, complete, models/list, providers/list.\n"
    "Protocol: docs/protocol.md.\n"
    "\n"
    "  --lsp              be a Language Server (LSP 3.17: completion, inline completion, code actions)\n"
    "                     instead of speaking the JSON-RPC protocol; see docs/lsp.md\n"
    "  --max-open-bytes N with --lsp: the most bytes all open documents may hold together\n"
    "                     (default 268435456); documents over it are not tracked\n"
    "  --config PATH      config file (default: $XDG_CONFIG_HOME/glm-server/config.json if present)\n"
    "  --log-file PATH    write logs there instead of stderr\n"
    "  --log-level LEVEL  trace, debug, info, warn, error, off (default: info)\n"
    "  --drain            at end of input, finish requests in flight instead of cancelling them\n"
    "                     (the default when stdin is a regular file, e.g. glm-server < transcript)\n"
    "  --version          print the version and exit\n"
    "  --help             print this and exit\n";

struct Args {
  std::string config, log_file, log_level = "info";
  bool drain = false;
  bool lsp = false;
  int64_t max_open_bytes = -1;  // --max-open-bytes; -1: the default
};

[[noreturn]] void die_usage(const std::string& message) {
  std::fprintf(stderr, "glm-server: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      std::string prefix = std::string(name) + "=";
      if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
      if (i + 1 >= argc) die_usage(std::string(name) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--version") {
      std::printf("glm-server %s\n", GLM_VERSION);
      std::exit(0);
    } else if (arg == "--lsp") {
      a.lsp = true;
    } else if (arg == "--stdio") {
      // Accepted and ignored: some LSP client libraries append it for stdio transport.
    } else if (arg == "--drain") {
      a.drain = true;
    } else if (arg.rfind("--config", 0) == 0) {
      a.config = value("--config");
    } else if (arg.rfind("--log-file", 0) == 0) {
      a.log_file = value("--log-file");
    } else if (arg.rfind("--log-level", 0) == 0) {
      a.log_level = value("--log-level");
    } else if (arg.rfind("--max-open-bytes", 0) == 0) {
      const std::string v = value("--max-open-bytes");
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno != 0 || n < 0)
        die_usage("--max-open-bytes needs a number of bytes, got '" + v + "'");
      a.max_open_bytes = n;
    } else {
      die_usage("unknown argument '" + arg + "'");
    }
  }
  return a;
}

// Logs hold code and questions: the log file is private (0600, tightened if it exists with wider bits)
// and directories created for it are 0700. spdlog would create them 0644/0755.
std::string prepare_log_file(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return dir + ": " + std::strerror(errno);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return path + ": " + std::strerror(errno);
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 077) != 0)
    fchmod(fd, st.st_mode & 0700);
  ::close(fd);
  return {};
}

void setup_logging(const Args& a) {
  auto level = spdlog::level::from_str(a.log_level);
  if (level == spdlog::level::off && a.log_level != "off") die_usage("unknown log level '" + a.log_level + "'");
  std::shared_ptr<spdlog::logger> logger;
  if (!a.log_file.empty()) {
    if (std::string err = prepare_log_file(a.log_file); !err.empty()) {
      std::fprintf(stderr, "glm-server: cannot open log file: %s\n", err.c_str());
      std::exit(2);
    }
  }
  try {
    if (!a.log_file.empty())
      logger = spdlog::basic_logger_mt("glm", a.log_file);
    else
      logger = std::make_shared<spdlog::logger>("glm", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } catch (const spdlog::spdlog_ex& e) {
    std::fprintf(stderr, "glm-server: cannot open log file: %s\n", e.what());
    std::exit(2);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %L %v");
  spdlog::set_default_logger(logger);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  setup_logging(args);
  // A client that closes our stdout must not kill us with SIGPIPE; write errors are handled instead.
  signal(SIGPIPE, SIG_IGN);

  glm::Config config = glm::Config::defaults(glm::provider_kinds());
  std::string path = args.config.empty() ? glm::default_config_path() : args.config;
  if (!path.empty()) {
    if (auto err = glm::load_config_file(config, path)) {
      std::fprintf(stderr, "glm-server: %s\n", err->c_str());
      return 2;
    }
  }

  // An editor closing our stdin is gone: cancel. A transcript file ending is not: let replies finish.
  struct stat st {};
  bool drain = args.drain || (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode));

  asio::io_context io(1);
  glm::rpc::StdioTransport transport(io, STDIN_FILENO, STDOUT_FILENO, static_cast<size_t>(config.max_message_bytes));
  int exit_code = 0;
  bool exiting = false;
  auto exit_fn = [&](int code) {
    if (exiting) return;
    exiting = true;
    exit_code = code;
    transport.when_flushed([&] { io.stop(); });
  };
  auto send = [&](glm::rpc::Framing f, std::string&& m) { transport.send(f, std::move(m)); };
  // LSP mode (docs/lsp.md): an adapter that owns a Server and talks LSP to the client.
  std::unique_ptr<glm::lsp::LspServer> lsp;
  std::unique_ptr<glm::Server> plain;
  if (args.lsp)
    lsp = std::make_unique<glm::lsp::LspServer>(io, config, send, exit_fn);
  else
    plain = std::make_unique<glm::Server>(io, config, send, exit_fn);
  if (lsp && args.max_open_bytes >= 0) lsp->set_max_open_bytes(args.max_open_bytes);
  glm::Server* server = lsp ? &lsp->core() : plain.get();
  server->set_config_file(path);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (ec) return;
    if (lsp)
      lsp->input_closed();
    else
      server->input_closed();
  });

  // Back-pressure is the core server's in both modes: it pauses the upstream transfers.
  auto congestion = [&](bool congested) { server->set_output_congested(congested); };
  if (lsp) {
    transport.start({
        [&](glm::rpc::Frame&& f) { lsp->on_frame(std::move(f)); },
        [&](glm::rpc::FrameError&& e) { lsp->on_frame_error(e); },
        [&] { lsp->input_closed(); },
        [&] { lsp->output_closed(); },
        congestion,
    });
  } else {
    transport.start({
        [&](glm::rpc::Frame&& f) { server->dispatcher().dispatch(std::move(f)); },
        [&](glm::rpc::FrameError&& e) { server->dispatcher().framing_error(e); },
        [&] { server->input_closed(drain); },
        [&] { server->output_closed(); },
        congestion,
    });
  }
  spdlog::info("glm-server {} ready (pid {})", GLM_VERSION, static_cast<int>(getpid()));
  io.run();
  spdlog::info("exiting with status {}", exit_code);
  spdlog::shutdown();
  std::fflush(stdout);
  // The reader thread may be blocked in read(); leave without running destructors that would race it.
  _exit(exit_code);
}
