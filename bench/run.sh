#!/usr/bin/env bash
# Side-by-side benchmark: glm-server and two Node peers from the optional peer benchmark kit (not in this
# repository; by default ../shared/bench next to the checkout), through the same driver,
# against the same mock SSE upstream (HTTPS, self-signed, loopback), in one run. Compare ratios, not
# absolute numbers: the machine is shared and noisy.
# usage: bench/run.sh [extra bench_rpc.mjs flags, e.g. --phases latency,throughput]
# env:   GLM_BENCH_KIT (default ../shared/bench), GLM_SERVER (default build-rel/glm-server, built if missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${GLM_BENCH_KIT:-$root/../shared/bench}
work=${BENCH_WORK:-/tmp/glm-bench}
server=${GLM_SERVER:-$root/build-rel/glm-server}
if [ ! -f "$kit/bench_rpc.mjs" ]; then
  echo "bench/run.sh: the peer benchmark kit (bench_rpc.mjs, mock_sse.mjs, peer_server.mjs) is not at $kit." >&2
  echo "It is optional and not part of this repository; point GLM_BENCH_KIT at a copy to run this benchmark." >&2
  exit 2
fi
if [ ! -x "$server" ]; then
  cmake -S "$root" -B "$root/build-rel" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGLM_BUILD_TESTS=OFF >/dev/null
  cmake --build "$root/build-rel" --target glm-server -j 2 >/dev/null
fi
command -v node >/dev/null || { echo "bench needs node + npm" >&2; exit 2; }
mkdir -p "$work"
cp "$kit"/package.json "$kit"/*.mjs "$work"/
cd "$work"
[ -d node_modules/openai ] || npm install --silent --no-audit --no-fund >/dev/null
[ -f tls/cert.pem ] || bash "$kit"/make-cert.sh tls >/dev/null
export NODE_EXTRA_CA_CERTS=$work/tls/cert.pem
node mock_sse.mjs --port 18080 --tls-port 18443 --cert tls/cert.pem --key tls/key.pem --lifetime-s 1200 >mock.log 2>&1 & mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/health >/dev/null && break; sleep 0.1; done

cat > glm-config.json <<JSON
{"default_model": "openai/glm-4.6",
 "providers": {"openai": {"base_url": "https://127.0.0.1:18443/v1", "ca_file": "$work/tls/cert.pem"}}}
JSON
echo "## glm-server ($(basename "$(dirname "$server")"))"
node bench_rpc.mjs --server "$server --config $work/glm-config.json --log-level warn" \
  --chunk-method chat/delta \
  --params '{"model":"openai/glm-4.6","messages":[{"role":"user","content":"$MOCK"}]}' "$@"
for client in openai fetch; do
  echo "## peer: Node vscode-jsonrpc server, upstream via $client"
  node bench_rpc.mjs --server "node peer_server.mjs --client $client" "$@"
done
