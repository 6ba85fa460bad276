// Secrets never reach the client or the log (issue 16, defects 1 and 2): the real glm-server process, an
// in-process mock whose every answer is an error that echoes the request's credentials (the
// Authorization header, the access_token in the URL) in each form an upstream may use — a 401 JSON body,
// an HTML 403 page with the key near the excerpt limit, a 400 plain text, an error event inside a 200
// stream, a 200 stream with a non-JSON event, a 200 body without choices — for `chat`, `explain` and
// `complete`, through every provider kind. No configured secret, nor any 6-character piece of one, may
// appear in anything written to stdout or to the log file.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "../mock/mock_server.hpp"
#include "server_process.hpp"

using glm::mock::MockServer;
using glm::mock::RecordedRequest;
using glm::mock::Response;
using glm::test::Json;
using glm::test::rpc;
using glm::test::ServerProcess;

namespace {

const std::string kZhipuKey = "7c3e9a2f5b8d41e6.Qx7Lm2Vt9Rk4Wp8Zs3Nd";
const std::string kZhipuJwtKey = "a81f4c0d9e2b73f5.Hn5Jc8Gy1Bf6Tv3Mq9Xe";
const std::string kDashscopeKey = "sk-ds7Hq2Vn9Lx4Pt8Kw3Rz6Mb1Cy5";
const std::string kCompatKey = "sk-cm3Fw8Ty1Ud6Ej9Gp4Ha2Sk7Xo0";
const std::string kQianfanAk = "qfAK9x2Lm7Vt4Rp8Yz5Wc";
const std::string kQianfanSk = "qfSK3n8Wq5Zt1Ky6Bv2Dj";
const std::string kQianfanToken = "24.tok7Gh3Kp9Xw2Lq5Vn8Rt4Zy6Ab1Cd";
const std::string kQianfanV2Key = "bce-v3/ALTAK-Pq8Xw2Ln7Rt4Vz9Ky3/9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
const std::string kOpenAiKey = "sk-op4Nh8Tq2Wm6Xr9Lz3Kv7Pb5Jd1";
const std::string kCompletionsKey = "sk-fm2Rb6Yc9Qe3Ws7Tx1Ug5Ih8Oa4";

// The forms of an upstream error that repeats the request's credentials.
enum class Form { json_401, html_403, text_400, stream_error_event, stream_not_json, no_choices };
const Form kForms[] = {Form::json_401,           Form::html_403,        Form::text_400,
                       Form::stream_error_event, Form::stream_not_json, Form::no_choices};

// The upstream that echoes what it was sent. `pad` moves the echo in the HTML page so that the 200-byte
// excerpt ends inside the key (defect 2).
struct EchoUpstream {
  MockServer mock;
  std::atomic<Form> form{Form::json_401};
  std::atomic<int> pad{50};
  std::mutex mu;
  std::set<std::string> seen;  // every credential the server sent (bearer tokens, a JWT, access_token)

  EchoUpstream() {
    mock.set_responder([this](const RecordedRequest& req) { return answer(req); });
  }

  Response answer(const RecordedRequest& req) {
    if (req.path() == "/oauth/2.0/token")
      return Response::body(200, Json{{"access_token", kQianfanToken}, {"expires_in", 2592000}}.dump());
    std::string echo = req.header("authorization");
    {
      std::lock_guard<std::mutex> lock(mu);
      if (echo.rfind("Bearer ", 0) == 0) seen.insert(echo.substr(7));
    }
    if (auto q = req.target.find('?'); q != std::string::npos) echo += " " + req.target.substr(q);
    if (echo.empty()) echo = "no credentials";
    const bool dashscope = req.path().find("/services/aigc/") != std::string::npos;
    Json err = {{"error", {{"message", "Incorrect API key provided: " + echo}, {"code", echo}, {"type", echo}}},
                {"code", echo},
                {"message", "Invalid API-key provided: " + echo},
                {"request_id", echo},
                {"id", echo},
                {"error_code", 336001},
                {"error_msg", "invalid credentials " + echo}};
    Response r;
    switch (form.load()) {
      case Form::json_401:
        r = Response::body(401, err.dump());
        break;
      case Form::html_403: {
        std::string page = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1><p>";
        page += std::string(static_cast<size_t>(pad.load()), 'x');
        page += " Authorization: " + echo + "</p></body></html>";
        r = Response::body(403, page, "text/html");
        break;
      }
      case Form::text_400:
        r = Response::body(400, "Bad request; you sent Authorization: " + echo, "text/plain");
        break;
      case Form::stream_error_event:
        r = dashscope ? Response::sse({"id:1\nevent:error\n:HTTP_STATUS/401\ndata:" + err.dump() + "\n\n"})
                      : Response::sse({"data: " + err.dump() + "\n\n"});
        break;
      case Form::stream_not_json:
        r = dashscope ? Response::sse({"id:1\nevent:result\n:HTTP_STATUS/200\ndata:<html>" + echo + "\n\n"})
                      : Response::sse({"data: <html>" + echo + "</html>\n\n"});
        break;
      case Form::no_choices:
        r = Response::body(200, Json{{"object", "chat.completion"}, {"id", echo}, {"note", echo}}.dump());
        break;
    }
    r.headers.emplace_back("x-request-id", echo);
    return r;
  }

  std::set<std::string> credentials() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

// The first 6-byte piece of any secret found in `text`, or "".
std::string leaked_piece(const std::string& text, const std::set<std::string>& secrets) {
  for (const auto& s : secrets)
    for (size_t i = 0; i + 6 <= s.size(); ++i)
      if (text.find(s.substr(i, 6)) != std::string::npos) return s.substr(i, 6) + " (of " + s + ")";
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("defects 1 and 2: no secret reaches the client or the log from any upstream error, any method") {
  EchoUpstream up;
  const std::string log = "/tmp/glm-redaction-" + std::to_string(getpid()) + ".log";
  ::unlink(log.c_str());
  ServerProcess server({"--log-file", log, "--log-level", "debug"});
  const std::string base = up.mock.url();
  Json providers = {
      {"zhipu", {{"base_url", base + "/api/paas/v4"}, {"api_key", kZhipuKey}, {"max_retries", 0}}},
      {"zjwt", {{"kind", "zhipu"}, {"auth", "jwt"}, {"base_url", base + "/api/paas/v4"}, {"api_key", kZhipuJwtKey}}},
      {"dashscope", {{"base_url", base + "/api/v1"}, {"api_key", kDashscopeKey}}},
      {"dashscope-compat", {{"base_url", base + "/compatible-mode/v1"}, {"api_key", kCompatKey}}},
      {"qianfan", {{"base_url", base}, {"api_key", kQianfanAk}, {"secret_key", kQianfanSk}}},
      {"qianfan-v2", {{"base_url", base + "/v2"}, {"api_key", kQianfanV2Key}}},
      {"openai", {{"base_url", base + "/v1"}, {"api_key", kOpenAiKey}}},
      {"fimsrv",
       {{"kind", "openai"}, {"fim", "completions"}, {"base_url", base + "/v1"}, {"api_key", kCompletionsKey}}},
  };
  for (auto& item : providers.items()) item.value()["max_retries"] = 0;
  Json init = server.request("initialize", {{"config", {{"providers", providers}}}}, "init");
  REQUIRE(init.contains("result"));

  const std::vector<std::pair<std::string, std::string>> models = {{"zhipu", "glm-4"},
                                                                   {"zjwt", "glm-4"},
                                                                   {"zhipu", "codegeex-4"},
                                                                   {"dashscope", "qwen-max"},
                                                                   {"dashscope-compat", "qwen-max"},
                                                                   {"qianfan", "ernie-4.0-8k"},
                                                                   {"qianfan-v2", "ernie-4.5-turbo-128k"},
                                                                   {"openai", "gpt-4o"},
                                                                   {"fimsrv", "codegeex4-all-9b"}};
  std::set<std::string> secrets = {kZhipuKey,  kZhipuJwtKey,  kDashscopeKey, kCompatKey, kQianfanAk,
                                   kQianfanSk, kQianfanToken, kQianfanV2Key, kOpenAiKey, kCompletionsKey};
  int id = 0, errors = 0;
  std::string out;  // everything the server wrote
  for (const auto& [provider, model] : models) {
    for (Form form : kForms) {
      up.form = form;
      for (int pad : {50, 70, 85, 95}) {
        if (form != Form::html_403 && pad != 50) continue;
        up.pad = pad;
        const std::string full = provider + "/" + model;
        std::vector<Json> calls;
        if (model != "codegeex-4" && provider != "fimsrv") {
          calls.push_back(
              rpc(++id, "chat",
                  {{"model", full}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
          calls.push_back(rpc(++id, "explain", {{"model", full}, {"code", "int x;"}, {"language", "c"}}));
        }
        calls.push_back(rpc(++id, "complete", {{"model", full}, {"prefix", "int main() {"}, {"suffix", "}"}}));
        for (const auto& call : calls) {
          server.send(call);
          for (;;) {
            auto text = server.read_text(10000);
            REQUIRE(text);
            out += *text + "\n";
            Json m = Json::parse(*text);
            if (m.contains("method")) continue;
            INFO(provider << " " << call["method"] << " form " << static_cast<int>(form) << " pad " << pad << ": "
                          << *text);
            CHECK(m.contains("error"));
            if (m.contains("error")) ++errors;
            CHECK(leaked_piece(*text, secrets) == "");
            break;
          }
        }
      }
    }
  }
  // The credentials the server actually sent (the JWT is made by the server) are secrets too.
  for (const auto& c : up.credentials()) secrets.insert(c);
  CHECK(up.credentials().size() == 7);  // bearer tokens: 2 zhipu (a key, a JWT), 2 dashscope, qianfan-v2, 2 openai
  CHECK(errors == id);
  CHECK(leaked_piece(out, secrets) == "");
  server.close_stdin();
  server.wait_exit(5000);
  const std::string logged = read_file(log);
  CHECK(logged.find("error from") != std::string::npos);  // the errors were logged
  CHECK(leaked_piece(logged, secrets) == "");
  ::unlink(log.c_str());
}

TEST_CASE("defect 2: a key cut at the excerpt limit of an HTML error page leaves no piece of it in chat's error") {
  EchoUpstream up;
  up.form = Form::html_403;
  ServerProcess server;
  Json providers = {{"openai", {{"base_url", up.mock.url() + "/v1"}, {"api_key", kOpenAiKey}, {"max_retries", 0}}}};
  REQUIRE(server.request("initialize", {{"config", {{"providers", providers}}}}, "init").contains("result"));
  // Every position of the key across the 200-byte cut.
  for (int pad = 40; pad <= 99; ++pad) {
    up.pad = pad;
    Json r = server.request("chat", {{"model", "openai/gpt-4o"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}},
                            pad);
    INFO("pad " << pad << ": " << r.dump());
    REQUIRE(r.contains("error"));
    CHECK(leaked_piece(r.dump(), {kOpenAiKey}) == "");
  }
}
