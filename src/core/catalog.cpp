#include "core/catalog.hpp"

namespace glm {

ModelInfo model_entry(std::string provider, std::string id) {
  ModelInfo m;
  m.provider = std::move(provider);
  m.id = std::move(id);
  return m;
}

}  // namespace glm
