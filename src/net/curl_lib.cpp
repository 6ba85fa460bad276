#include "net/curl_lib.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace glm::net::curl_lib {
namespace {

Api load() {
  void* h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!h) throw std::runtime_error(std::string("cannot load libcurl.so.4 (install libcurl4): ") + dlerror());
  Api a{};
  auto sym = [h](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
    if (!fn) throw std::runtime_error(std::string("libcurl.so.4 lacks ") + name);
  };
  sym(a.global_init, "curl_global_init");
  sym(a.easy_init, "curl_easy_init");
  sym(a.easy_cleanup, "curl_easy_cleanup");
  sym(a.easy_setopt, "curl_easy_setopt");
  sym(a.easy_getinfo, "curl_easy_getinfo");
  sym(a.easy_strerror, "curl_easy_strerror");
  sym(a.easy_pause, "curl_easy_pause");
  sym(a.free, "curl_free");
  sym(a.multi_init, "curl_multi_init");
  sym(a.multi_cleanup, "curl_multi_cleanup");
  sym(a.multi_setopt, "curl_multi_setopt");
  sym(a.multi_add_handle, "curl_multi_add_handle");
  sym(a.multi_remove_handle, "curl_multi_remove_handle");
  sym(a.multi_socket_action, "curl_multi_socket_action");
  sym(a.multi_info_read, "curl_multi_info_read");
  sym(a.multi_strerror, "curl_multi_strerror");
  sym(a.slist_append, "curl_slist_append");
  sym(a.slist_free_all, "curl_slist_free_all");
  sym(a.url, "curl_url");
  sym(a.url_cleanup, "curl_url_cleanup");
  sym(a.url_set, "curl_url_set");
  sym(a.url_get, "curl_url_get");
  return a;
}

}  // namespace

const Api& api() {
  static const Api a = load();  // C++ guarantees one thread-safe initialisation
  return a;
}

}  // namespace glm::net::curl_lib
