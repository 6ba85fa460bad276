// The registry of provider kinds. Adding a provider kind is its own file (which defines its
// ProviderSpec) plus one line in kSpecs below.
#include "providers/registry.hpp"

#include "providers/dashscope.hpp"
#include "providers/dashscope_compat.hpp"
#include "providers/openai.hpp"
#include "providers/qianfan.hpp"
#include "providers/qianfan_v2.hpp"
#include "providers/zhipu.hpp"

namespace glm {

#ifdef GLM_EXAMPLE_PROVIDER
// tests/recipe: the docs/providers.md recipe carried out, compiled only into glm-server-recipe.
ProviderSpec example_vendor_spec();
#endif

namespace {

using SpecFn = ProviderSpec (*)();

constexpr SpecFn kSpecs[] = {
    &zhipu_spec,             // zhipu, zai
    &dashscope_spec,         // dashscope
    &dashscope_compat_spec,  // dashscope-compat
    &qianfan_spec,           // qianfan (v1)
    &qianfan_v2_spec,        // qianfan-v2
    &openai_spec,            // openai
#ifdef GLM_EXAMPLE_PROVIDER
    &example_vendor_spec,
#endif
};

// The first built-in instance's first catalog model.
constexpr std::string_view kDefaultModel = "zhipu/glm-4.6";

}  // namespace

const std::vector<ProviderSpec>& provider_specs() {
  static const std::vector<ProviderSpec> specs = [] {
    std::vector<ProviderSpec> out;
    for (SpecFn f : kSpecs) out.push_back(f());
    return out;
  }();
  return specs;
}

const ProviderSpec* find_spec(std::string_view kind) {
  for (const auto& s : provider_specs())
    if (s.kind == kind) return &s;
  return nullptr;
}

std::shared_ptr<const ProviderKinds> provider_kinds() {
  static const std::shared_ptr<const ProviderKinds> kinds = [] {
    auto k = std::make_shared<ProviderKinds>();
    for (const auto& s : provider_specs()) {
      k->kinds.push_back(s.kind);
      k->kind_defaults[s.kind] = s.defaults;
      Json own = s.defaults;
      own.update(s.credentials);
      k->builtin_instances[s.kind] = own;
      for (const auto& [name, keys] : s.instances) {
        Json inst = s.defaults;
        inst.update(keys);
        inst["kind"] = s.kind;
        k->builtin_instances[name] = std::move(inst);
      }
    }
    k->default_model = std::string(kDefaultModel);
    return k;
  }();
  return kinds;
}

std::unique_ptr<Provider> make_provider(const ProviderConfig& config, ProviderContext context) {
  const ProviderSpec* spec = find_spec(config.kind.empty() ? config.name : config.kind);
  if (!spec || !spec->make) return nullptr;
  return spec->make(config, std::move(context));
}

const ModelInfo* find_model(std::string_view kind, std::string_view model) {
  const ProviderSpec* spec = find_spec(kind);
  if (!spec) return nullptr;
  for (const auto& m : spec->models)
    if (m.id == model) return &m;
  return nullptr;
}

const ModelInfo* find_model(const ProviderConfig& instance, std::string_view model) {
  for (const auto& m : instance.models)
    if (m.id == model) return &m;
  return find_model(instance.kind.empty() ? instance.name : instance.kind, model);
}

}  // namespace glm
