// Mock model provider: a small HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests.
//
// Two uses:
//  (a) in-process (Catch2): `glm::mock::MockServer server;` runs its own io_context on its own thread.
//      Every public method is thread-safe. Script responses with enqueue() (FIFO), enqueue(path, ...)
//      (FIFO per path, checked first), or set_responder(); with nothing scripted, provider_replay()
//      answers.
//  (b) the `glm-mock-provider` binary (mock_main.cpp): prints `PORT <n>` once listening, answers every
//      request with provider_replay(); exits on SIGTERM/SIGINT, when stdin closes, or after --lifetime-s.
//      `--record FILE` appends one JSON line per request ({method,path,headers,body}).
//
// provider_replay(): the provider is picked by path.
//   .../chat/completions                         OpenAI/Zhipu/DashScope-compat SSE: `data: {chunk}` with
//                                                choices[0].delta.content, a finish chunk with usage,
//                                                then `data: [DONE]` (non-stream JSON when stream != true)
//   .../services/aigc/text-generation/generation DashScope native frames `id:N\nevent:result\n
//                                                :HTTP_STATUS/200\ndata:{...}` ("finish_reason":"null"
//                                                until the last "stop" frame; cumulative text when
//                                                parameters.incremental_output is not true). Streams when
//                                                `X-DashScope-SSE: enable` or Accept: text/event-stream.
//                                                With `extra` (CodeGeeX FIM): checked as docs/providers.md
//                                                settles it (messages [], every target field, lower-case
//                                                language, (0,1) temperature/top_p), else a 400 (1210);
//                                                the reply is the FIM text below. A chat request whose
//                                                last user message has <code_before_cursor> (the chat FIM
//                                                prompt) gets prose and a fenced FIM text.
//   .../completions                              OpenAI-style text_completion (`prompt`, `suffix`):
//                                                choices[].text, streamed or not; `n` choices (the 2nd on
//                                                get " /*alt i*/" appended)
//   /rpc/2.0/ai_custom/...                       Qianfan `data: {result,is_end,sentence_id,usage}`
//   /oauth/2.0/token                             a Qianfan token JSON (access_token "24.mock-token...")
//   anything else                                404 with a JSON error
// The FIM text is what follows "mock-reply:" on its line in the prefix ("\n", "\t" escapes), else
// "<fim lang=L prefix=P suffix=S>" (byte lengths); directives are read from the prefix.
// The chat reply text is "You said: <last user message text>" in a few small chunks, unless the last user
// message contains directives `mock:key=value,key=value` (anywhere in its text):
//   chunks=N          N chunks of "tok<i> " instead of the echo
//   delay_ms=N        sleep N ms between chunks
//   ttft_ms=N         send the response head, then sleep N ms before the first chunk
//   stall_first_ms=N  sleep N ms before sending anything at all (not even the status line)
//   stall_mid_ms=N    sleep N ms after half of the chunks
//   drop_after=N      close the connection after N chunks (chunked body never terminated)
//   reasoning=N       N reasoning deltas ("think<i> ", `reasoning_content`) before the content
//   ts=1              chunk content is "@<CLOCK_MONOTONIC ns>;" (the timestamp format of the bench peers' mock)
//   error=STATUS      provider-style JSON error with that HTTP status (Qianfan: HTTP 200 and an
//                     error_code mapped from STATUS, as Qianfan really does; add http=1 to use STATUS)
//   code=CODE         override the vendor error code in that body (e.g. code=1113, code=110)
//   retry_after=S     add `Retry-After: S` to the response
//   bytewise=1        write every byte of the body separately
//   finish=REASON     finish_reason of the last chunk (default stop)
//   per_write=N       N events per write (one HTTP chunk): an upstream that sends in bursts
//   gzip=1            Content-Encoding: gzip (each event flushed, so it still streams); gzip=corrupt:
//                     that header on bytes that do not inflate
//   reply_file=PATH   answer with the contents of PATH (no spaces or commas in it) instead of the echo,
//                     in the same small pieces; for scripted answers such as prose around a code fence
//   tool=NAME         OpenAI/Zhipu: a call of function NAME (id call_mock_1, arguments {"q":"<echo>"} streamed
//                     in three pieces), finish_reason tool_calls
// When the last message has role "tool", the reply is "Tool said: <its content>" (directives of earlier
// messages do not apply): the second step of a tool conversation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace glm::mock {

struct Step {
  enum class Kind {
    write,           // bytes, one write (one chunk when chunked)
    write_bytewise,  // bytes, one write (and chunk) per byte, `ms` apart
    write_stamped,   // bytes with every "@TS@" replaced by CLOCK_MONOTONIC ns at send time (not with
                     // Framing::content_length: the length is unknown in advance; chunked is used)
    sleep,           // ms
    stall,           // wait until the client closes or the server stops
    drop,            // close the connection (FIN) without finishing the body
    reset,           // abort the connection (RST)
  };
  Kind kind = Kind::write;
  std::string bytes;
  int ms = 0;

  static Step write(std::string bytes) { return {Kind::write, std::move(bytes), 0}; }
  static Step bytewise(std::string bytes, int gap_ms = 0) { return {Kind::write_bytewise, std::move(bytes), gap_ms}; }
  static Step stamped(std::string bytes) { return {Kind::write_stamped, std::move(bytes), 0}; }
  static Step sleep(int ms) { return {Kind::sleep, {}, ms}; }
  static Step stall() { return {Kind::stall, {}, 0}; }
  static Step drop() { return {Kind::drop, {}, 0}; }
  static Step reset() { return {Kind::reset, {}, 0}; }
};

enum class Framing {
  content_length,  // Content-Length = bytes of all write steps (also those after a drop: never sent)
  chunked,         // Transfer-Encoding: chunked, one chunk per write
  close,           // no length; the body ends when the connection closes
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<Step> steps;        // run after the status line and headers are sent
  std::vector<Step> before_head;  // run before anything is sent, e.g. {Step::sleep(500)} or {Step::stall()}
  Framing framing = Framing::content_length;
  bool keep_alive = true;  // ignored for Framing::close

  // A complete body (JSON by default).
  static Response body(int status, std::string body, std::string content_type = "application/json");
  // An event stream, one write per event, chunked.
  static Response sse(std::vector<std::string> events);
};

struct RecordedRequest {
  std::string method;
  std::string target;                               // path with query, as sent (absolute form when sent to a proxy)
  std::multimap<std::string, std::string> headers;  // lowercased names
  std::string body;
  uint64_t connection = 0;  // 1-based index of the accepted connection that carried it
  // When the mock had read the whole request, and when it had written the whole response (unset until
  // then, and never for a response cut short by a stall, drop or reset).
  std::chrono::steady_clock::time_point received_at{};
  std::optional<std::chrono::steady_clock::time_point> responded_at;

  std::string path() const;                                     // target without the query
  std::string header(const std::string& lowercase_name) const;  // first value or ""
};

// The provider-aware default responder (see the top of this file). `demo`: the answers of
// `glm-mock-provider --demo` (mock_demo.cpp) instead of the echo, and no directives.
Response provider_replay(const RecordedRequest& request, bool demo = false);

// The demo's answer texts (mock_demo.cpp): to the last user message of a chat, and to a fill-in-the-middle
// request with this prefix in this language.
std::string demo_chat_reply(const std::string& user);
std::string demo_fim_reply(const std::string& prefix, const std::string& language);

// One request as a JSON line (for --record).
std::string to_json_line(const RecordedRequest& request);

class MockServer {
 public:
  using Responder = std::function<Response(const RecordedRequest&)>;

  MockServer();   // listens on 127.0.0.1:<ephemeral> and starts serving at once; throws if it cannot
  ~MockServer();  // stops within a bounded time, even with stalled connections
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT"

  void enqueue(Response response);
  void enqueue(const std::string& path, Response response);               // path without query; used first
  void set_responder(Responder responder);                                // replaces provider_replay() as the fallback
  void set_on_request(std::function<void(const RecordedRequest&)> hook);  // e.g. --record

  std::vector<RecordedRequest> requests() const;
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) const;
  size_t connections() const;       // accepted so far
  size_t open_connections() const;  // currently open
  // Waits until open_connections() <= n.
  bool wait_for_open_connections_at_most(size_t n, std::chrono::milliseconds timeout) const;
  // When connection `index` (RecordedRequest::connection) was seen closed by the client or ended by
  // the mock; nullopt while it is open. Waits up to `timeout` for it.
  std::optional<std::chrono::steady_clock::time_point> connection_closed_at(
      uint64_t index, std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace glm::mock
