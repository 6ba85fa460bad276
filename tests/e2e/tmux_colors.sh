#!/bin/sh
# Ghost text is visibly different from typed code, in the colours the terminal really shows (issue 17):
# with 'termguicolors' off (a plain tmux, many terminals) and on, and again after `:colorscheme`.
# Neovim 0.10+'s default colour scheme gives Comment (GlmGhost's link) only a GUI colour: without
# 'termguicolors' the ghost text had no colour at all and looked exactly like code. The screen is read
# with `capture-pane -e` and the SGR attributes in effect at the ghost text and at typed code compared.
#   tests/e2e/tmux_colors.sh [GLM_SERVER] [GLM_MOCK_PROVIDER]
# Ends with "N passed, N failed"; exit status non-zero on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=${1:-$root/build/glm-server}
mock=${2:-$root/build/glm-mock-provider}
. "$here/lib.sh"

# attrs ROW TEXT: the SGR state (foreground, background, bold/italic/...) at the last cell of TEXT on
# screen row ROW, e.g. "fg=38;5;8 bg= fl=" ("fg= bg= fl=" is the terminal's default: plain text).
attrs() {
  tmux -S "$sock" capture-pane -e -p -t "$session" | sed -n "${1}p" | perl -e '
    my ($want) = @ARGV; my $line = <STDIN>; chomp $line;
    my %s = (fg => "", bg => "", fl => "");
    my $text = "";
    while (length $line) {
      if ($line =~ s/^\e\[([0-9;:]*)m//) {
        my @p = split /;/, ($1 eq "" ? "0" : $1);
        while (@p) {
          my $c = shift @p;
          if ($c == 0) { %s = (fg => "", bg => "", fl => ""); }
          elsif ($c == 38 || $c == 48) {
            my $k = $c == 38 ? "fg" : "bg"; my $m = shift @p;
            $s{$k} = $m == 5 ? "$c;5;" . shift(@p) : "$c;2;" . join(";", splice(@p, 0, 3));
          }
          elsif ($c == 39) { $s{fg} = ""; } elsif ($c == 49) { $s{bg} = ""; }
          elsif (($c >= 30 && $c <= 37) || ($c >= 90 && $c <= 97)) { $s{fg} = $c; }
          elsif (($c >= 40 && $c <= 47) || ($c >= 100 && $c <= 107)) { $s{bg} = $c; }
          elsif ($c >= 1 && $c <= 9) { $s{fl} .= "+$c" unless $s{fl} =~ /\+$c\b/; }
          elsif ($c >= 21 && $c <= 29) { my $o = $c == 22 ? "[12]" : $c - 20; $s{fl} =~ s/\+$o\b//g; }
        }
      } elsif ($line =~ s/^\e[^a-zA-Z]*[a-zA-Z]//) {
      } else {
        $text .= substr($line, 0, 1, "");
        if (substr($text, -length $want) eq $want) { print "fg=$s{fg} bg=$s{bg} fl=$s{fl}\n"; exit 0; }
      }
    }
    exit 1;' "$2"
}
differs() { # differs ROW_A TEXT_A ROW_B TEXT_B: both found, and their attributes differ
  a=$(attrs "$1" "$2") || return 1
  b=$(attrs "$3" "$4") || return 1
  echo "    $2: $a | $4: $b"
  [ "$a" != "$b" ]
}

need_binaries
start_mock

# The mock "model" answers with what follows mock-reply: in the text before the cursor.
printf '%s\n' '# mock-reply:return fib(n - 1) + fib(n - 2)' 'def fib(n):' >"$tmp/fib.py"

for tgc in false true; do
  cat >"$tmp/init.lua" <<LUA
vim.opt.runtimepath:prepend('$root')
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.o.number = false
vim.o.termguicolors = $tgc
vim.cmd('filetype plugin indent on')
vim.cmd('syntax off') -- typed code is then plain text: the terminal's default colours
require('glm').setup({
  server = {
    cmd = '$server',
    config = {
      providers = { zhipu = { base_url = 'http://127.0.0.1:$port/api/paas/v4', api_key = 'e2e-key' } },
    },
  },
  complete = { filetypes = { python = true } },
})
LUA
  cp "$tmp/fib.py" "$tmp/work.py"
  start_nvim "$tmp/init.lua" 100 20 "$tmp/work.py"
  check "termguicolors=$tgc: neovim started" wait_for '^def fib' 10
  keys G o
  check "termguicolors=$tgc: ghost text on screen" wait_for '^    return fib\(n - 1\)' 8
  check "termguicolors=$tgc: ghost text looks different from typed code" differs 2 'def fib' 3 'return fib'
  check "termguicolors=$tgc: all of the ghost text" differs 2 'def fib' 3 'fib(n - 2)'
  # A colour scheme loaded later (:colorscheme clears every group) keeps it visible.
  keys Escape ':colorscheme default' Enter
  sleep 0.3
  keys S
  check "termguicolors=$tgc, after :colorscheme: ghost text on screen" wait_for '^    return fib\(n - 1\)' 8
  check "termguicolors=$tgc, after :colorscheme: still different from typed code" differs 2 'def fib' 3 'return fib'
  stop_nvim
done
finish
