#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/) and runs each for a bounded time.
# A crash, leak, timeout or broken invariant fails the run and leaves the reproducer in
# build-fuzz/artifacts/ (replay: build-fuzz/fuzz/<target> <file>). CONTRIBUTING.md, "Fuzzing".
#
# usage: scripts/fuzz.sh [target...]        (default: $GLM_FUZZ_TARGETS, else every CI target)
# env:   GLM_FUZZ_SECONDS  seconds per target (default 30)
#        GLM_FUZZ_JOBS     targets run at once (default: nproc)
#        GLM_FUZZ_TARGETS  space-separated target names
# The corpus grows in build-fuzz/corpus/<target> across local runs; the seeds are rebuilt each run
# from fuzz/seeds and tests/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=build-fuzz
seconds=${GLM_FUZZ_SECONDS:-30}
jobs=${GLM_FUZZ_JOBS:-$(nproc)}
all_targets="fuzz_framing fuzz_sse fuzz_provider_zhipu fuzz_provider_dashscope fuzz_provider_dashscope_compat
  fuzz_provider_qianfan fuzz_provider_qianfan_v2 fuzz_provider_openai fuzz_server fuzz_lsp"

# shellcheck disable=SC2206
targets=(${GLM_FUZZ_TARGETS:-$all_targets})
[ $# -gt 0 ] && targets=("$@")

echo "== fuzz build ($dir)"
CXX=${GLM_FUZZ_CXX:-clang++} cmake -S . -B $dir -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLM_FUZZ=ON \
  -DGLM_BUILD_TESTS=OFF >/dev/null
cmake --build $dir -j "$(nproc)" --target "${targets[@]}"

# Seeds: hand-written ones, plus every recorded response (whole for the provider targets, the body
# for the SSE parser, behind a chat request for the server).
seeds=$dir/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{framing,sse,server,lsp} $dir/corpus $dir/artifacts $dir/logs
cp fuzz/seeds/framing/* "$seeds/framing/"
cp fuzz/seeds/server/* "$seeds/server/"
cp fuzz/seeds/lsp/* "$seeds/lsp/"
cp fuzz/seeds/sse/* "$seeds/sse/"
for d in fuzz/seeds/provider_*; do mkdir -p "$seeds/${d##*/}" && cp "$d"/* "$seeds/${d##*/}/"; done
for f in tests/fixtures/*/*.http; do
  p=$(basename "$(dirname "$f")")
  name=$p-$(basename "$f")
  mkdir -p "$seeds/provider_$p"
  cp "$f" "$seeds/provider_$p/"
  sed '1,/^\r\{0,1\}$/d' "$f" >"$seeds/sse/$name"
  model=$p/any; [ "$p" = dashscope_compat ] && model=dashscope-compat/glm-4.6
  [ "$p" = qianfan ] && model=qianfan/chatglm2_6b_32k
  { printf '{"jsonrpc":"2.0","id":1,"method":"chat","params":{"model":"%s","messages":[{"role":"user","content":"hi"}]}}\n' "$model"
    [ "$p" = qianfan ] && printf '\n#UPSTREAM\nHTTP/1.1 200 OK\n\n{"access_token":"t","expires_in":2592000}'
    printf '\n#UPSTREAM\n'; cat "$f"; } >"$seeds/server/$name"
done

run_one() {  # target → 0 when it ran clean
  local t=$1 seed dict
  case $t in
    fuzz_framing) seed=framing; dict=framing ;;
    fuzz_sse) seed=sse; dict=sse ;;
    fuzz_server) seed=server; dict=server ;;
    fuzz_lsp) seed=lsp; dict=lsp ;;
    fuzz_provider_*) seed=provider_${t#fuzz_provider_}; dict=provider ;;
  esac
  mkdir -p "$dir/corpus/$t"
  "$dir/fuzz/$t" -max_len=65536 -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="fuzz/dict/$dict.dict" -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "$seeds/$seed" \
    >"$dir/logs/$t.log" 2>&1
}
export -f run_one
export dir seconds seeds

echo "== fuzzing ${#targets[@]} targets, ${seconds}s each, $jobs at a time (ASan+UBSan, -max_len=65536)"
start=$(date +%s)
status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {} || echo {} >>"$dir/logs/failed"' || true
printf '%-34s %12s %9s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  log=$dir/logs/$t.log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$dir/corpus/$t" -type f | wc -l)
  result=ok
  if grep -qx "$t" "$dir/logs/failed" 2>/dev/null; then
    result="FAILED: $(grep -o "$dir/artifacts/$t-[^ ]*" "$log" | tail -1)"
    status=1
  fi
  printf '%-34s %12s %9s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$corpus" "$result"
done
rm -f "$dir/logs/failed"
echo "fuzzing took $(($(date +%s) - start)) s"
if [ $status -ne 0 ]; then
  echo "Reproduce with: $dir/fuzz/<target> <artifact>; the logs are in $dir/logs/. Every crash becomes a regression test."
  for t in "${targets[@]}"; do
    grep -q -E "ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|fuzz invariant" "$dir/logs/$t.log" &&
      { echo "--- $t"; grep -m1 -A25 -E "ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|fuzz invariant" "$dir/logs/$t.log"; }
  done
fi
exit $status
