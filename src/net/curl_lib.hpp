// libcurl, loaded with dlopen() on first use instead of linked: libcurl drags in ~30 shared libraries
// (GnuTLS, Kerberos, LDAP, ...) whose relocation cost ~5 ms at every start, before the first
// `initialize` could be answered. The server only needs them once it makes a request.
// Call these as curl_lib::curl_xxx(...) (qualified, so argument-dependent lookup cannot pick the
// real libcurl symbol and reintroduce a link dependency). Thread-safe loading; loop thread use.
#pragma once

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK 1  // the type-checking macros would name the real functions
#endif
#include <curl/curl.h>

#include <string>

namespace glm::net::curl_lib {

struct Api {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_pause) easy_pause;
  decltype(&::curl_free) free;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_socket_action) multi_socket_action;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_strerror) multi_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
};

// Loads libcurl.so.4 once; throws std::runtime_error naming the library when it cannot.
const Api& api();

inline CURLcode curl_global_init(long flags) { return api().global_init(flags); }
inline CURL* curl_easy_init() { return api().easy_init(); }
inline void curl_easy_cleanup(CURL* h) { api().easy_cleanup(h); }
template <typename T>
CURLcode curl_easy_setopt(CURL* h, CURLoption o, T v) {
  return api().easy_setopt(h, o, v);
}
template <typename T>
CURLcode curl_easy_getinfo(CURL* h, CURLINFO i, T v) {
  return api().easy_getinfo(h, i, v);
}
inline const char* curl_easy_strerror(CURLcode c) { return api().easy_strerror(c); }
inline CURLcode curl_easy_pause(CURL* h, int bitmask) { return api().easy_pause(h, bitmask); }
inline void curl_free(void* p) { api().free(p); }
inline CURLM* curl_multi_init() { return api().multi_init(); }
inline CURLMcode curl_multi_cleanup(CURLM* m) { return api().multi_cleanup(m); }
template <typename T>
CURLMcode curl_multi_setopt(CURLM* m, CURLMoption o, T v) {
  return api().multi_setopt(m, o, v);
}
inline CURLMcode curl_multi_add_handle(CURLM* m, CURL* h) { return api().multi_add_handle(m, h); }
inline CURLMcode curl_multi_remove_handle(CURLM* m, CURL* h) { return api().multi_remove_handle(m, h); }
inline CURLMcode curl_multi_socket_action(CURLM* m, curl_socket_t s, int ev, int* running) {
  return api().multi_socket_action(m, s, ev, running);
}
inline CURLMsg* curl_multi_info_read(CURLM* m, int* left) { return api().multi_info_read(m, left); }
inline const char* curl_multi_strerror(CURLMcode c) { return api().multi_strerror(c); }
inline curl_slist* curl_slist_append(curl_slist* l, const char* s) { return api().slist_append(l, s); }
inline void curl_slist_free_all(curl_slist* l) { api().slist_free_all(l); }
inline CURLU* curl_url() { return api().url(); }
inline void curl_url_cleanup(CURLU* u) { api().url_cleanup(u); }
inline CURLUcode curl_url_set(CURLU* u, CURLUPart p, const char* s, unsigned int f) {
  return api().url_set(u, p, s, f);
}
inline CURLUcode curl_url_get(CURLU* u, CURLUPart p, char** s, unsigned int f) { return api().url_get(u, p, s, f); }

}  // namespace glm::net::curl_lib
