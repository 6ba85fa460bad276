#!/usr/bin/env bash
# The one test command (README): installs what is missing, builds glm-server twice (the users' Release
# build through `make`, and ASan+UBSan with -Werror) and runs every test suite under both: C++ unit and
# protocol tests, the Neovim suite against the real server and the mock provider, the tmux end-to-end
# tests, the LSP clients (Neovim, Emacs/eglot, vscode-languageserver-protocol), after a formatting check
# and before a bounded fuzzing run.
# The release build also runs the editor matrix (scripts/editors.sh): the Neovim suite on Neovim 0.10 and
# the newest (0.12), the tmux tests on the newest, Neovim 0.12's and Helix's LSP clients on the screen,
# Emacs 30's eglot and lsp-mode.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# The editor matrix (Neovim 0.12/0.10, Helix, Emacs 30, lsp-mode) from Debian's archive, cached in
# GLM_EDITORS_DIR (default ~/.cache/glm-editors). Never fails the run: an editor that could not be fetched
# is reported as "SKIPPED: ..." and its tests are not registered; one that was fetched must pass. Its
# runs are registered in the release build only (tests/CMakeLists.txt), not again under ASan.
echo "== editors"
./scripts/editors.sh
jobs=$(nproc)
status=0
# Formatting and lint first (seconds): clang-format-14, StyLua, luacheck (CONTRIBUTING.md, "Formatting").
echo "== format"
./scripts/check-format.sh || status=1
for cfg in release asan; do
  if [ $cfg = release ]; then
    # Exactly what users build: `make` (plugin managers' build step; Release, -O3, no -Werror) from this
    # checkout, then the tests into the same directory.
    dir=build
    echo "== make (the users' build: $dir, Release)"
    make --no-print-directory build BUILD=$dir
  else
    # Warnings are errors here (GLM_WERROR), never in the users' build.
    dir=build-asan
    cmake -S . -B $dir -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGLM_SANITIZE=ON -DGLM_WERROR=ON >/dev/null
  fi
  echo "== $cfg build ($dir)"
  cmake --build $dir -j "$jobs"
  echo "== $cfg tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir $dir --output-on-failure -j "$jobs" || status=1
done
# Every libFuzzer target for a bounded time under ASan+UBSan (CONTRIBUTING.md, "Fuzzing");
# GLM_FUZZ_SECONDS per target (default 30). A crash fails the run and leaves its reproducer.
echo "== fuzz"
./scripts/fuzz.sh || status=1
exit $status
