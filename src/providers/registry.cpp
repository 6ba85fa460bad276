// make_provider(): the table of provider names. Adding a provider is one line here plus its files.
#include <string_view>

#include "providers/dashscope.hpp"
#include "providers/dashscope_compat.hpp"
#include "providers/openai.hpp"
#include "providers/provider.hpp"
#include "providers/qianfan.hpp"
#include "providers/zhipu.hpp"

namespace glm {

namespace {

using Factory = std::unique_ptr<Provider> (*)(const ProviderConfig&, ProviderContext);

struct Entry {
  std::string_view name;
  Factory make;
};

constexpr Entry kProviders[] = {
    {"zhipu", &make_zhipu_provider},
    {"dashscope", &make_dashscope_provider},
    {"dashscope-compat", &make_dashscope_compat_provider},
    {"qianfan", &make_qianfan_provider},
    {"openai", &make_openai_provider},
};

}  // namespace

std::unique_ptr<Provider> make_provider(const ProviderConfig& config, ProviderContext context) {
  for (const Entry& e : kProviders) {
    if (e.name == config.name) return e.make(config, std::move(context));
  }
  return nullptr;
}

}  // namespace glm
