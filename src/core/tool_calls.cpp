#include "core/tool_calls.hpp"

namespace glm {

std::optional<std::string> merge_tool_call_fragments(Json& calls, const Json& fragments, Json* normalised) {
  if (!calls.is_array()) calls = Json::array();
  if (fragments.is_null()) return std::nullopt;
  if (!fragments.is_array()) return std::string("tool_calls: expected an array");
  for (size_t pos = 0; pos < fragments.size(); ++pos) {
    const Json& f = fragments[pos];
    if (!f.is_object()) return "tool_calls[" + std::to_string(pos) + "]: expected an object";
    size_t index = pos;
    if (auto it = f.find("index"); it != f.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= int64_t(kMaxToolCalls))
        return "tool_calls[" + std::to_string(pos) + "].index: expected an integer in [0, " +
               std::to_string(kMaxToolCalls - 1) + "]";
      index = static_cast<size_t>(it->get<int64_t>());
    }
    if (index >= kMaxToolCalls) return "tool_calls: more than " + std::to_string(kMaxToolCalls) + " calls";
    while (calls.size() <= index) calls.push_back(Json::object());
    Json& call = calls[index];
    Json norm = Json::object();
    norm["index"] = index;
    // The member named by the call's type (Zhipu's {"type":"web_search","web_search":{...}}) is the only
    // one kept besides id, type and function: anything else an upstream sends is dropped, so unknown
    // keys cannot pile up (their bytes would still count against max_response_bytes in the sessions).
    std::string type;
    if (auto t = f.find("type"); t != f.end() && t->is_string()) type = t->get<std::string>();
    if (type.empty())
      if (auto t = call.find("type"); t != call.end() && t->is_string()) type = t->get<std::string>();
    for (auto it = f.begin(); it != f.end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      if (k == "index" || v.is_null()) continue;
      if (k == "function") {
        if (!v.is_object()) return "tool_calls[" + std::to_string(pos) + "].function: expected an object";
        Json& fn = call["function"];
        if (!fn.is_object()) fn = Json::object();
        Json nfn = Json::object();
        for (auto g = v.begin(); g != v.end(); ++g) {
          if (g.value().is_null()) continue;
          if (g.key() == "arguments") {
            std::string piece = g.value().is_string() ? g.value().get<std::string>() : g.value().dump();
            // Appended in place (amortised O(1) per byte): arguments may stream in thousands of pieces.
            Json& acc = fn["arguments"];
            if (!acc.is_string()) acc = std::string();
            acc.get_ref<std::string&>().append(piece);
            nfn["arguments"] = std::move(piece);
          } else if (g.key() == "name") {
            if (g.value().is_string() && !g.value().get_ref<const std::string&>().empty()) {
              fn["name"] = g.value();
              nfn["name"] = g.value();
            }
          }
        }
        if (!nfn.empty()) norm["function"] = std::move(nfn);
      } else if ((k == "id" || k == "type") && v.is_string() && v.get_ref<const std::string&>().empty()) {
        continue;  // some servers repeat "" in later fragments: keep the first real value
      } else if (k == "id" || k == "type" || (!type.empty() && k == type)) {
        call[k] = v;
        norm[k] = v;
      }
    }
    if (normalised) normalised->push_back(std::move(norm));
  }
  return std::nullopt;
}

size_t tool_call_bytes(const Json& fragments) {
  // Iterative: an upstream value may nest deeply.
  size_t bytes = 0;
  std::vector<const Json*> todo{&fragments};
  while (!todo.empty()) {
    const Json* j = todo.back();
    todo.pop_back();
    if (j->is_string()) {
      bytes += j->get_ref<const std::string&>().size();
    } else if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        bytes += it.key().size();
        todo.push_back(&it.value());
      }
    } else if (j->is_array()) {
      for (const auto& e : *j) todo.push_back(&e);
    } else {
      bytes += 8;  // a number, true/false/null
    }
  }
  return bytes;
}

std::optional<std::string> check_tools(const Json& tools, const Json& tool_choice) {
  if (!tools.is_null()) {
    if (!tools.is_array()) return std::string("tools: expected an array of tool objects");
    for (size_t i = 0; i < tools.size(); ++i) {
      const std::string path = "tools[" + std::to_string(i) + "]";
      const Json& t = tools[i];
      if (!t.is_object() || !t.contains("type") || !t["type"].is_string())
        return path + ": expected an object with a string \"type\"";
      if (t["type"] == "function") {
        auto fn = t.find("function");
        if (fn == t.end() || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string() ||
            (*fn)["name"].get_ref<const std::string&>().empty())
          return path + ".function.name: required (a non-empty string)";
        if (fn->contains("parameters") && !(*fn)["parameters"].is_object())
          return path + ".function.parameters: expected a JSON Schema object";
      }
    }
  }
  if (!tool_choice.is_null()) {
    if (tool_choice.is_string()) {
      const auto& c = tool_choice.get_ref<const std::string&>();
      if (c != "auto" && c != "none" && c != "required")
        return "tool_choice: expected \"auto\", \"none\", \"required\" or "
               "{\"type\":\"function\",\"function\":{\"name\":...}}";
    } else if (!tool_choice.is_object() || !tool_choice.contains("function") || !tool_choice["function"].is_object() ||
               !tool_choice["function"].contains("name") || !tool_choice["function"]["name"].is_string()) {
      return "tool_choice: expected \"auto\", \"none\", \"required\" or "
             "{\"type\":\"function\",\"function\":{\"name\":...}}";
    }
    if (tools.is_null() || (tools.is_array() && tools.empty())) return std::string("tool_choice: needs tools");
  }
  return std::nullopt;
}

}  // namespace glm
