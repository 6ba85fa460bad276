#!/usr/bin/env bash
# Installs the editors the test matrix runs on, beside the system's own copies and without touching them:
# Neovim from Debian sid (newest) and trixie (0.10), Helix (`hx`, sid), Emacs 30 (bookworm-backports, with
# its built-in eglot) and Emacs lsp-mode (`elpa-lsp-mode`, sid). Everything comes from Debian's archive.
#
#   scripts/editors.sh            fetch what is missing, print the versions
#   GLM_EDITORS_DIR=dir           cache (default ~/.cache/glm-editors); a second run downloads nothing
#                                 (an editor once fetched is kept: the cache is what the archive had then)
#   GLM_EDITORS_REFRESH=1         forget the cache and take what the archive has now (CI from a fresh
#                                 machine always does: its cache is empty)
#   GLM_EDITORS_SKIP=1            fetch nothing (the matrix then runs on the system's editors only)
#
# Result: <cache>/bin/nvim-<major.minor> (one per suite), nvim-newest (the sid one: the screen tests run
# there), hx, emacs-30, and <cache>/elisp/ (lsp-mode and its dependencies' sources). Each wrapper runs the
# editor with its own runtime (VIMRUNTIME, HELIX_RUNTIME, Emacs' load path and data directory).
#
# How (per editor, in its own prefix <cache>/<name>/): a private apt configuration for the suite
# (sources.list, lists and cache under <cache>/apt/<suite>, the system's apt state untouched), then
# `apt-get download` the package and its Depends, `dpkg -x` them into the prefix, and `patchelf` the
# binary to use the prefix's loader and libraries (sid and trixie are built against a newer glibc than
# bookworm's). patchelf comes from bookworm (apt-get install) when missing.
#
# Emacs 30: bookworm-backports' emacs-nox would replace the system's emacs-nox 28 (the Emacs 28 + elpa-eglot
# test runs on that), so it is extracted privately like the others. It is built for bookworm: only the
# libraries the system lacks go into the prefix (found through the binary's rpath).
#
# Network failures never fail the run: an editor that could not be fetched is reported as
# "SKIPPED: <editor>: <why>" (loudly, on stdout and stderr) and its tests are not registered. Exit 0.
set -euo pipefail

cache=${GLM_EDITORS_DIR:-$HOME/.cache/glm-editors}
mirror=${GLM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
skipped=()

if [ "${GLM_EDITORS_SKIP:-0}" = 1 ]; then
  echo "editors: GLM_EDITORS_SKIP=1, fetching nothing"
  exit 0
fi
if [ "${GLM_EDITORS_REFRESH:-0}" = 1 ]; then
  rm -rf "$cache"
fi
mkdir -p "$cache/bin" "$cache/apt"

loud_skip() { # loud_skip EDITOR WHY
  local line="SKIPPED: $1: $2 (its tests are not run)"
  skipped+=("$line")
  echo "!!!!!!!! $line" >&2
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# patchelf from bookworm (the system's own suite).
need_patchelf() {
  command -v patchelf >/dev/null 2>&1 && return 0
  echo "editors: installing patchelf (bookworm)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends patchelf >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends patchelf >/dev/null 2>&1; } ||
    return 1
}

# apt_suite SUITE...: a private apt configuration holding those suites; sets apt_opts.
apt_suite() {
  local name=${*// /+}
  local d="$cache/apt/$name"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/debs"
  touch "$d/status" # nothing installed: candidates come from the suite only, never the system
  : >"$d/sources.list"
  local s
  for s in "$@"; do
    echo "deb [signed-by=$keyring] $mirror $s main" >>"$d/sources.list"
  done
  apt_dir=$d
  apt_opts=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" -o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root
    -o Acquire::Retries=2 -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Get::AllowUnauthenticated=false)
  if [ ! -e "$d/updated" ]; then
    echo "editors: apt-get update ($*)"
    # apt-get update exits 0 when a fetch failed: check that every suite's package list arrived.
    apt-get "${apt_opts[@]}" update -qq >"$d/update.log" 2>&1 || true
    for s in "$@"; do
      ls "$d/lists/"*"_dists_${s}_main_binary-${arch}_Packages"* >/dev/null 2>&1 ||
        { tail -n 5 "$d/update.log" >&2; return 1; }
    done
    touch "$d/updated"
  fi
}

# pkg_version PKG: the candidate version in the private configuration.
pkg_version() { apt-cache "${apt_opts[@]}" policy "$1" | sed -n 's/^ *Candidate: *//p'; }

# direct_depends PKG: its Depends (first of each alternative), real package names only.
direct_depends() {
  apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$1" | sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<> ]*\)$/\2/p' | sort -u
}

# fetch_debs PKG...: apt-get download into the suite's debs dir (quiet; the caller reports).
fetch_debs() {
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "$@" >"$apt_dir/download.log" 2>&1) ||
    { tail -n 5 "$apt_dir/download.log" >&2; return 1; }
}

extract_into() { # extract_into PREFIX PKG...: dpkg -x the downloaded .debs of those packages
  local prefix=$1 p f
  shift
  mkdir -p "$prefix"
  for p in "$@"; do
    for f in "$apt_dir/debs/${p}_"*.deb; do
      [ -e "$f" ] || { echo "no .deb for $p" >&2; return 1; }
      dpkg -x "$f" "$prefix"
    done
  done
}

# relocate BINARY PREFIX: the prefix's loader and libraries.
relocate() {
  patchelf --set-interpreter "$2/usr/lib64/ld-linux-x86-64.so.2" --set-rpath "$2/usr/lib/$triplet" "$1"
}

# --- Neovim (SUITE NAME): neovim + neovim-runtime + their Depends + libc6 + libgcc-s1 of that suite.
fetch_nvim() {
  local suite=$1 prefix ver mm pkgs
  prefix="$cache/nvim-$suite"
  if [ ! -e "$prefix/.done" ]; then
    apt_suite "$suite" || { loud_skip "neovim ($suite)" "apt-get update failed"; return 0; }
    ver=$(pkg_version neovim)
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || { loud_skip "neovim ($suite)" "no neovim in $suite"; return 0; }
    echo "editors: fetching neovim $ver ($suite)"
    pkgs=$( (
      echo neovim
      echo libc6
      echo libgcc-s1
      for d in $(direct_depends neovim); do
        echo "$d"
        direct_depends "$d"
      done
    ) | sort -u | grep -vxE 'gcc-[0-9]+-base|libc-bin|debconf|perl-base|dpkg|.*:any')
    # shellcheck disable=SC2086
    fetch_debs $pkgs || { loud_skip "neovim $ver ($suite)" "apt-get download failed"; return 0; }
    rm -rf "$prefix"
    # shellcheck disable=SC2086
    { extract_into "$prefix" $pkgs && relocate "$prefix/usr/bin/nvim" "$prefix"; } ||
      { loud_skip "neovim $ver ($suite)" "could not unpack"; return 0; }
    echo "$ver" >"$prefix/.done"
  fi
  ver=$(cat "$prefix/.done")
  mm=$(echo "$ver" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
  cat >"$cache/bin/nvim-$mm" <<SH
#!/bin/sh
# Neovim $ver from Debian $suite (scripts/editors.sh), with its own runtime.
VIMRUNTIME="$prefix/usr/share/nvim/runtime" exec "$prefix/usr/bin/nvim" "\$@"
SH
  chmod +x "$cache/bin/nvim-$mm"
  if ! "$cache/bin/nvim-$mm" --version >/dev/null 2>&1; then
    rm -f "$cache/bin/nvim-$mm"
    loud_skip "neovim $ver ($suite)" "the extracted binary does not run"
    return 0
  fi
  [ "$suite" = sid ] && ln -sfn "nvim-$mm" "$cache/bin/nvim-newest"
  versions+=("nvim-$mm: $("$cache/bin/nvim-$mm" --version | head -n1) (Debian $suite $ver)")
}

# --- Helix from sid: hx + libc6 + libgcc-s1; HELIX_RUNTIME is the package's runtime directory.
fetch_hx() {
  local prefix="$cache/hx" ver
  if [ ! -e "$prefix/.done" ]; then
    apt_suite sid || { loud_skip "helix" "apt-get update failed"; return 0; }
    ver=$(pkg_version hx)
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || { loud_skip "helix" "no hx in sid"; return 0; }
    echo "editors: fetching hx $ver (sid)"
    local pkgs
    pkgs=$( (
      echo hx
      echo libc6
      echo libgcc-s1
      direct_depends hx
    ) | sort -u | grep -vxE 'gcc-[0-9]+-base|libc-bin|debconf|perl-base|dpkg|.*:any')
    # shellcheck disable=SC2086
    fetch_debs $pkgs || { loud_skip "helix $ver" "apt-get download failed"; return 0; }
    rm -rf "$prefix"
    # shellcheck disable=SC2086
    { extract_into "$prefix" $pkgs && relocate "$prefix/usr/bin/hx" "$prefix"; } ||
      { loud_skip "helix $ver" "could not unpack"; return 0; }
    echo "$ver" >"$prefix/.done"
  fi
  ver=$(cat "$prefix/.done")
  local rt="$prefix/usr/lib/hx/runtime"
  [ -d "$rt" ] || rt=$(dirname "$(find "$prefix" -type d -name queries -path '*runtime*' | head -n1)")
  cat >"$cache/bin/hx" <<SH
#!/bin/sh
# Helix $ver from Debian sid (scripts/editors.sh), with its own runtime.
HELIX_RUNTIME="$rt" exec "$prefix/usr/bin/hx" "\$@"
SH
  chmod +x "$cache/bin/hx"
  if ! "$cache/bin/hx" --version >/dev/null 2>&1; then
    rm -f "$cache/bin/hx"
    loud_skip "helix $ver" "the extracted binary does not run"
    return 0
  fi
  versions+=("hx: $("$cache/bin/hx" --version | head -n1) (Debian sid $ver)")
}

# --- Emacs 30 from bookworm-backports, extracted privately (see the header).
fetch_emacs() {
  local prefix="$cache/emacs30" ver
  if [ ! -e "$prefix/.done" ]; then
    apt_suite bookworm bookworm-backports || { loud_skip "emacs 30" "apt-get update failed"; return 0; }
    ver=$(apt-cache "${apt_opts[@]}" policy emacs-nox | sed -n 's/^ *\([0-9]*:\{0,1\}30[^ ]*\) .*/\1/p;s/^ \*\*\* \([0-9]*:\{0,1\}30[^ ]*\) .*/\1/p' | head -n1)
    [ -n "$ver" ] || { loud_skip "emacs 30" "no emacs-nox 30 in bookworm-backports"; return 0; }
    echo "editors: fetching emacs-nox $ver (bookworm-backports)"
    local pkgs=(emacs-nox="$ver" emacs-bin-common="$ver" emacs-common="$ver") names=(emacs-nox emacs-bin-common emacs-common) d
    # Libraries Emacs 30 needs that the system does not have (the rest are bookworm's own, installed).
    for d in $( (
      apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "emacs-nox=$ver" "emacs-bin-common=$ver" |
        sed -n 's/^ *|\{0,1\}Depends: \([^<> ]*\)$/\1/p'
    ) | sort -u | grep -E '^lib'); do
      dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" && continue
      pkgs+=("$d")
      names+=("$d")
    done
    fetch_debs "${pkgs[@]}" || { loud_skip "emacs $ver" "apt-get download failed"; return 0; }
    rm -rf "$prefix"
    { extract_into "$prefix" "${names[@]}" && patchelf --set-rpath "$prefix/usr/lib/$triplet" "$prefix/usr/bin/emacs-nox"; } ||
      { loud_skip "emacs $ver" "could not unpack"; return 0; }
    echo "$ver" >"$prefix/.done"
  fi
  ver=$(cat "$prefix/.done")
  local v lisp
  v=$(basename "$(find "$prefix/usr/share/emacs" -maxdepth 1 -name '30*' | head -n1)")
  lisp="$prefix/usr/share/emacs/$v/lisp"
  local pdmp
  pdmp=$(find "$prefix/usr/lib/emacs/$v" "$prefix/usr/libexec/emacs/$v" -name '*.pdmp' 2>/dev/null | head -n1)
  cat >"$cache/bin/emacs-30" <<SH
#!/bin/sh
# Emacs $ver from Debian bookworm-backports (scripts/editors.sh), with its own lisp and data directories.
EMACSLOADPATH="\$(find "$lisp" -type d | tr '\n' ':')$prefix/usr/share/emacs/site-lisp" \\
EMACSDATA="$prefix/usr/share/emacs/$v/etc" EMACSDOC="$prefix/usr/share/emacs/$v/etc" \\
EMACSPATH="$prefix/usr/libexec/emacs/$v/$triplet" \\
exec "$prefix/usr/bin/emacs-nox" --dump-file="$pdmp" "\$@"
SH
  chmod +x "$cache/bin/emacs-30"
  if ! "$cache/bin/emacs-30" --batch -Q --eval '(progn (require (quote eglot)) (princ emacs-version))' >/dev/null 2>&1; then
    "$cache/bin/emacs-30" --batch -Q --eval '(require (quote eglot))' 2>&1 | tail -n 5 >&2 || true
    rm -f "$cache/bin/emacs-30"
    loud_skip "emacs $ver" "the extracted Emacs does not start or has no eglot"
    return 0
  fi
  versions+=("emacs-30: GNU Emacs $("$cache/bin/emacs-30" --batch -Q --eval '(princ emacs-version)') (Debian bookworm-backports $ver)")
}

# --- lsp-mode from sid: elpa-lsp-mode and the elpa-* packages it needs (sources only; Emacs loads them).
fetch_lsp_mode() {
  local dir="$cache/elisp" ver
  if [ ! -e "$dir/.done" ]; then
    apt_suite sid || { loud_skip "lsp-mode" "apt-get update failed"; return 0; }
    ver=$(pkg_version elpa-lsp-mode)
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || { loud_skip "lsp-mode" "no elpa-lsp-mode in sid"; return 0; }
    echo "editors: fetching elpa-lsp-mode $ver (sid)"
    local pkgs
    pkgs=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances elpa-lsp-mode | sed -n 's/^\(elpa-[^ ]*\)$/\1/p' | sort -u)
    # shellcheck disable=SC2086
    fetch_debs $pkgs || { loud_skip "lsp-mode $ver" "apt-get download failed"; return 0; }
    rm -rf "$dir"
    # shellcheck disable=SC2086
    extract_into "$dir/root" $pkgs || { loud_skip "lsp-mode $ver" "could not unpack"; return 0; }
    echo "$ver" >"$dir/.done"
  fi
  ver=$(cat "$dir/.done")
  # One directory per package: tests add each to load-path.
  find "$dir/root/usr/share/emacs/site-lisp/elpa-src" -mindepth 1 -maxdepth 1 -type d >"$dir/load-path"
  # Each package's autoloads, as Debian (dh-elpa) and package.el generate them at install time: with
  # Emacs 30 (lsp-mode runs there).
  if [ ! -e "$dir/.autoloads" ]; then
    [ -x "$cache/bin/emacs-30" ] || { loud_skip "lsp-mode $ver" "no Emacs 30 to run it"; return 0; }
    GLM_DIRS=$(cat "$dir/load-path") "$cache/bin/emacs-30" --batch -Q --eval '(dolist (d (split-string (getenv "GLM_DIRS") "\n" t))
       (loaddefs-generate d (expand-file-name "glm-autoloads.el" d)))' >"$dir/autoloads.log" 2>&1 ||
      { tail -n 5 "$dir/autoloads.log" >&2; loud_skip "lsp-mode $ver" "could not generate its autoloads"; return 0; }
    touch "$dir/.autoloads"
  fi
  versions+=("lsp-mode: elpa-lsp-mode $ver (Debian sid), $(wc -l <"$dir/load-path") packages in $dir/load-path")
}

versions=()
if need_patchelf; then
  fetch_nvim sid
  fetch_nvim trixie
  fetch_hx
else
  loud_skip "neovim (sid, trixie), helix" "patchelf could not be installed"
fi
fetch_emacs
fetch_lsp_mode

echo "== editors in $cache/bin (Debian archive as of the first fetch; GLM_EDITORS_REFRESH=1 to update)"
for v in "${versions[@]}"; do echo "   $v"; done
# versions.txt: what CMake's configure step registers tests from (rewritten only when it changes, so
# an unchanged cache does not make the build re-configure).
{
  printf '%s\n' "${versions[@]}"
  [ ${#skipped[@]} -eq 0 ] || printf '%s\n' "${skipped[@]}"
} >"$cache/versions.txt.new"
if cmp -s "$cache/versions.txt.new" "$cache/versions.txt"; then
  rm -f "$cache/versions.txt.new"
else
  mv "$cache/versions.txt.new" "$cache/versions.txt"
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo "!!!!!!!! ${#skipped[@]} editor(s) could not be fetched; their tests will not run:"
  for s in "${skipped[@]}"; do
    echo "!!!!!!!! $s"
    echo "!!!!!!!! $s" >&2
  done
fi
exit 0
