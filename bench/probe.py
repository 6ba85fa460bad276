#!/usr/bin/env python3
"""What glm-server itself adds, without the Node driver's overhead in the way.

Needs the shared mock running (bench/run.sh starts it; or: node mock_sse.mjs --port 18080 in the bench
kit's work dir) and a built server. Prints medians for:
  - TTFT on a kept-alive connection: a raw socket client vs. the same request through glm-server;
  - per-chunk latency (mock send -> reader): direct, through a trivial Python relay process, and
    through glm-server (chat/delta notifications only).
usage: bench/probe.py [--server build-rel/glm-server] [--mock http://127.0.0.1:18080]
"""
import argparse, json, os, re, socket, statistics, subprocess, sys, time
from urllib.parse import urlparse

ap = argparse.ArgumentParser()
ap.add_argument("--server", default=os.path.join(os.path.dirname(__file__), "..", "build-rel", "glm-server"))
ap.add_argument("--mock", default="http://127.0.0.1:18080")
ap.add_argument("--chunks", type=int, default=200)
a = ap.parse_args()
host, port = urlparse(a.mock).hostname, urlparse(a.mock).port
STAMP = re.compile(rb"@(\d+);")

def http_request(content):
    body = json.dumps({"model": "x", "stream": True, "messages": [{"role": "user", "content": content}]})
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

def direct_ttft(n=20):
    s = socket.create_connection((host, port)); out = []
    for _ in range(n):
        t = time.perf_counter(); s.sendall(http_request("mock:chunks=3,delay_ms=1")); buf = b""; first = None
        while not (b"[DONE]" in buf and buf.endswith(b"0\r\n\r\n")):
            d = s.recv(65536)
            if first is None and b"data:" in d: first = time.perf_counter()
            buf += d
        out.append((first - t) * 1000)
    return statistics.median(out[2:])

def direct_latency():
    s = socket.create_connection((host, port)); s.sendall(http_request(f"mock:chunks={a.chunks},delay_ms=5,ts=1"))
    lat, buf = [], b""
    while b"[DONE]" not in buf:
        d = s.recv(65536); now = time.monotonic_ns(); buf += d
        lat += [(now - int(m.group(1))) / 1000 for m in STAMP.finditer(d)]
    return statistics.median(lat)

def relay_latency():
    code = ("import socket,sys,os\ns=socket.create_connection((%r,%d))\ns.sendall(%r)\nb=b''\n"
            "while b'[DONE]' not in b:\n d=s.recv(65536)\n os.write(1,d)\n b+=d\n") % (host, port, http_request(f"mock:chunks={a.chunks},delay_ms=5,ts=1"))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, bufsize=0); lat = []
    while True:
        d = os.read(p.stdout.fileno(), 65536); now = time.monotonic_ns()
        if not d: break
        lat += [(now - int(m.group(1))) / 1000 for m in STAMP.finditer(d)]
    return statistics.median(lat)

def server_runs():
    cfg = {"default_model": "openai/x", "providers": {"openai": {"base_url": a.mock + "/v1"}}}
    p = subprocess.Popen([a.server, "--log-level", "warn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    send = lambda o: p.stdin.write((json.dumps(o) + "\n").encode())
    send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"config": cfg}}); os.read(p.stdout.fileno(), 65536)
    def run(rid, content, stamps):
        t = time.perf_counter(); send({"jsonrpc": "2.0", "id": rid, "method": "chat", "params": {"messages": [{"role": "user", "content": content}]}})
        first, lat, tail = None, [], b""
        while True:
            d = os.read(p.stdout.fileno(), 65536); now = time.monotonic_ns()
            for line in d.split(b"\n"):
                if b"chat/delta" in line:
                    first = first or time.perf_counter()
                    if stamps: lat += [(now - int(m.group(1))) / 1000 for m in STAMP.finditer(line)]
            if f'"id":{rid},"jsonrpc"'.encode() in tail + d: return (first - t) * 1000, lat
            tail = (tail + d)[-64:]
    ttft = statistics.median([run(i, "mock:chunks=3,delay_ms=1", False)[0] for i in range(1, 21)][2:])
    lat = statistics.median([statistics.median(run(100 + i, f"mock:chunks={a.chunks},delay_ms=5,ts=1", True)[1]) for i in range(3)])
    p.kill()
    return ttft, lat

ttft, lat = server_runs()
print(f"TTFT keep-alive: direct {direct_ttft():.3f} ms, through glm-server {ttft:.3f} ms")
print(f"chunk latency p50: direct {direct_latency():.0f} us, python relay {relay_latency():.0f} us, glm-server {lat:.0f} us")
