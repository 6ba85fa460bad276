#include "lsp/answers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

namespace glm::lsp {

namespace {

std::string env_abs(const char* name) {
  const char* v = std::getenv(name);
  return v && *v == '/' ? std::string(v) : std::string();
}

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string random_hex() {
  static std::random_device rd;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%08x%04x", static_cast<unsigned>(rd()), static_cast<unsigned>(rd() & 0xffff));
  return buf;
}

// mkdir -p with 0700 for every directory made here (existing ones are left as they are).
bool make_dirs(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string dir = slash == std::string::npos ? path : path.substr(0, slash);
    if (!dir.empty() && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

}  // namespace

AnswerStore::AnswerStore(std::string override_dir, size_t keep) : override_(std::move(override_dir)), keep_(keep) {}

std::string AnswerStore::directory() {
  if (!override_.empty()) return override_;
  if (std::string x = env_abs("XDG_CACHE_HOME"); !x.empty()) return x + "/glm-server/answers";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/glm-server/answers";
  if (std::string r = env_abs("XDG_RUNTIME_DIR"); !r.empty()) return r + "/glm-server/answers";
  // No home of any kind: never a shared, predictable place under /tmp; a directory of this process.
  if (temp_dir_.empty()) {
    std::string tmpl =
        (env_abs("TMPDIR").empty() ? std::string("/tmp") : env_abs("TMPDIR")) + "/glm-server-answers-XXXXXX";
    if (::mkdtemp(tmpl.data())) temp_dir_ = tmpl;
  }
  return temp_dir_;
}

int AnswerStore::open_dir(std::string& error) {
  const std::string dir = directory();
  if (dir.empty()) {
    error = "no directory for answers (mkdtemp failed)";
    return -1;
  }
  if (!make_dirs(dir)) {
    error = dir + ": " + std::strerror(errno);
    return -1;
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = dir + ": " + (errno == ENOTDIR || errno == ELOOP ? "not a directory (or a symlink)" : std::strerror(errno));
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = dir + ": not a directory";
  } else if (st.st_uid != ::geteuid()) {
    error = dir + ": owned by another user";
  } else if ((st.st_mode & 022) != 0) {
    // Others could plant or swap files in it.
    if (!override_.empty()) {
      error = dir + ": writable by group or others (chmod 700 it)";
    } else if (::fchmod(fd, 0700) != 0) {
      error = dir + ": writable by group or others, and chmod failed: " + std::strerror(errno);
    }
  } else if (override_.empty() && (st.st_mode & 077) != 0) {
    ::fchmod(fd, 0700);  // the default place is private, also when an older version made it 0755
  }
  if (!error.empty()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

AnswerStore::Written AnswerStore::write(const std::string& kind, const std::string& text) {
  Written w;
  int dfd = open_dir(w.error);
  if (dfd < 0) return w;
  const std::string dir = directory();
  std::string name;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    name =
        std::string(kPrefix) + timestamp() + "-" + std::to_string(::getpid()) + "-" + random_hex() + "-" + kind + ".md";
    fd = ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    w.error = dir + "/" + name + ": " + std::strerror(errno);
    ::close(dfd);
    return w;
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      w.error = dir + "/" + name + ": " + std::strerror(errno);
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && w.error.empty()) w.error = dir + "/" + name + ": " + std::strerror(errno);
  if (!w.error.empty()) {
    ::unlinkat(dfd, name.c_str(), 0);
    ::close(dfd);
    return w;
  }
  w.path = dir + "/" + name;
  prune(dfd);
  ::close(dfd);
  return w;
}

void AnswerStore::prune(int dir_fd) {
  int fd = ::dup(dir_fd);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  ::rewinddir(d);
  const size_t prefix_len = std::strlen(kPrefix);
  std::vector<std::string> ours;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() <= prefix_len + 3 || n.compare(0, prefix_len, kPrefix) != 0 || n.compare(n.size() - 3, 3, ".md") != 0)
      continue;
    struct stat st {};
    if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    ours.push_back(std::move(n));
  }
  ::closedir(d);
  if (ours.size() <= keep_) return;
  std::sort(ours.begin(), ours.end());  // the UTC time comes first: oldest first
  for (size_t i = 0; i + keep_ < ours.size(); ++i) ::unlinkat(dir_fd, ours[i].c_str(), 0);
}

}  // namespace glm::lsp
