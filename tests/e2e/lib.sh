# Shared pieces of the tmux end-to-end tests (sourced, not run). The sourcing script sets `server`,
# `mock` and `root` first; this sets up a scratch dir, the mock provider and helpers to drive a Neovim
# in a detached tmux session and read its screen.
#   check NAME CMD...        run CMD, count and print ok/FAIL
#   start_mock [ARGS...]     start glm-mock-provider (with ARGS); sets $port
#   start_nvim INIT.lua [COLUMNS ROWS [FILE]]
#                            start Neovim in tmux with that init file and a private XDG home
#   quit_nvim / stop_nvim    :qa! and check Neovim exited / :qa!, then kill the session regardless
#   screen / keys / wait_for PATTERN SECONDS / wait_gone PATTERN SECONDS (ERE patterns)
#   finish                   print "N passed, N failed" and exit with the status
# GLM_TEST_NVIM=path (or NVIM=path) picks the Neovim binary (the matrix: scripts/editors.sh); the version
# tested is printed first.
nvim=${GLM_TEST_NVIM:-${NVIM:-nvim}}
[ -n "${not_nvim:-}" ] || echo "== $("$nvim" --version | head -n1) ($nvim)${GLM_TEST_TGC:+, GLM_TEST_TGC=$GLM_TEST_TGC}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/glm-e2e.XXXXXX")
sock="$tmp/tmux.sock"
session=glm_e2e
passed=0
failed=0
mock_pid=

cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

check() { # check NAME COMMAND...
  name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    echo "---- screen:"
    screen 2>/dev/null | sed 's/^/    | /'
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

screen() { tmux -S "$sock" capture-pane -p -t "$session"; }
keys() { tmux -S "$sock" send-keys -t "$session" "$@"; }

# wait_for PATTERN SECONDS: poll the screen until it shows PATTERN (grep -E).
wait_for() {
  i=0
  while [ "$i" -lt $(($2 * 20)) ]; do
    screen | grep -qE -- "$1" && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

# wait_gone PATTERN SECONDS: poll the screen until PATTERN is no longer on it.
wait_gone() {
  i=0
  while [ "$i" -lt $(($2 * 20)) ]; do
    screen | grep -qE -- "$1" || return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

need_binaries() {
  for bin in "$server" "$mock"; do
    if [ ! -x "$bin" ]; then
      echo "missing $bin"
      failed=1
      finish
    fi
  done
}

start_mock() { # start_mock [MOCK_ARGS...] (e.g. --record FILE)
  "$mock" --lifetime-s 300 "$@" </dev/null >"$tmp/mock.out" 2>"$tmp/mock.err" &
  mock_pid=$!
  i=0
  while ! grep -q '^PORT ' "$tmp/mock.out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  port=$(sed -n 's/^PORT \([0-9]*\).*/\1/p' "$tmp/mock.out")
  check "mock provider started" test -n "$port"
  [ -n "$port" ] || finish
}

# The environment every Neovim of a test gets: a private home, a dummy key the mock accepts.
nvim_env="XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state OPENAI_API_KEY=sk-e2e"

# start_nvim INIT [COLUMNS ROWS [FILE]]
# GLM_TEST_TGC=1: 'termguicolors' on before the init file (Neovim in this tmux starts with it off).
start_nvim() {
  tgc=
  [ "${GLM_TEST_TGC:-0}" = 1 ] && tgc="--cmd 'set termguicolors'"
  tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x "${2:-120}" -y "${3:-36}" \
    "env $nvim_env $nvim $tgc -u $1 -i NONE -n ${4:-}"
  tmux -S "$sock" set-option -t "$session" status off >/dev/null
}

# quit_nvim: :qa! as a user would; succeeds only if Neovim then exits by itself (within 3 s).
quit_nvim() {
  keys Escape ':qa!' Enter
  i=0
  while tmux -S "$sock" has-session -t "$session" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
  ! tmux -S "$sock" has-session -t "$session" 2>/dev/null
}

# stop_nvim: quit, and kill the session if Neovim did not exit (between cases of one script).
stop_nvim() {
  keys Escape ':qa!' Enter
  i=0
  while tmux -S "$sock" has-session -t "$session" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
  tmux -S "$sock" kill-session -t "$session" 2>/dev/null
  return 0
}

# An init file loading the plugin from the checkout against the mock; extra Lua (setup() fields) in $1.
write_init() { # write_init FILE [EXTRA_SETUP_FIELDS]
  cat >"$1" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
require('glm').setup({
  server = {
    cmd = '$server',
    config = {
      default_model = 'openai/glm-4',
      providers = { openai = { base_url = 'http://127.0.0.1:$port/v1' } },
    },
  },
  ${2:-}
})
LUA
}
