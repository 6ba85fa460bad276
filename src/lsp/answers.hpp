// LSP mode's answer files: Explain/Ask answers are written as markdown files that the editor opens with
// window/showDocument (docs/lsp.md, "Where answers go"). They hold the user's code, so the directory is
// private (0700, owned by the user, never a symlink, checked when it already exists), each file is
// created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) under a name no one can guess (time, pid and a
// random part, so two servers never collide either), and pruning removes only this server's own files
// (named `glm-answer-*.md`), never anything else in the directory. Loop thread only.
#pragma once

#include <cstddef>
#include <string>

namespace glm::lsp {

class AnswerStore {
 public:
  // Every answer file's name starts with this; nothing else in the directory is ever removed.
  static constexpr const char* kPrefix = "glm-answer-";

  // `override_dir`: GLM_LSP_ANSWERS_DIR (empty: the default place, see directory()).
  explicit AnswerStore(std::string override_dir, size_t keep = 50);

  // The directory answers go to: the override; else $XDG_CACHE_HOME/glm-server/answers or
  // ~/.cache/glm-server/answers; else $XDG_RUNTIME_DIR/glm-server/answers; else a private directory
  // made once per process with mkdtemp (${TMPDIR:-/tmp}/glm-server-answers-XXXXXX). Empty when none
  // can be made.
  std::string directory();

  struct Written {
    std::string path;   // the new file, or empty
    std::string error;  // why nothing was written
  };
  // Writes `text` to a new file named glm-answer-<UTC time>-<pid>-<random>-<kind>.md, then prunes the
  // server's files beyond the newest `keep`.
  Written write(const std::string& kind, const std::string& text);

 private:
  // Opens the directory (creating it 0700 as needed) after checking it: a directory, not a symlink,
  // owned by the user, not writable by others. Returns the fd or -1 with `error` set.
  int open_dir(std::string& error);
  void prune(int dir_fd);

  std::string override_;
  std::string temp_dir_;  // the mkdtemp fallback, once made
  size_t keep_;
};

}  // namespace glm::lsp
