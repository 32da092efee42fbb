#!/usr/bin/env python3
"""Network benchmarks: our examples/http_server.rs and echo_server.rs
against their Go twins (bench/go-net), on loopback, same connection
counts. HTTP load comes from wrk (Debian package `wrk`), echo load from
bench/src/bin/echoload.rs (plain blocking std sockets, one thread per
connection, identical for both servers). Rounds alternate the servers;
medians are printed as a Markdown table.

Usage: python3 bench/net.py [rounds] [seconds]   (Go: /tmp/gov/bin/go)
"""
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GO = os.environ.get("GO", "/tmp/gov/bin/go")


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "http_server",
                    "--example", "echo_server"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "echoload"], cwd=HERE, check=True)
    subprocess.run([GO, "build", "-o", str(HERE / "out" / "gonet"), "."], cwd=HERE / "go-net", check=True)


def start(kind, who, port):
    addr = f"127.0.0.1:{port}"
    if who == "ours":
        cmd = [str(ROOT / "target" / "release" / "examples" / f"{kind}_server"), addr]
    else:
        cmd = [str(HERE / "out" / "gonet"), kind, addr]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def wrk(port, conns, secs):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    return rps, p99_ms


def echoload(port, conns, secs):
    out = subprocess.run([str(HERE / "target" / "release" / "echoload"), f"127.0.0.1:{port}",
                          str(conns), str(secs)], capture_output=True, text=True).stdout
    rps = float(re.search(r"rps=([\d.]+)", out).group(1))
    p99_ms = float(re.search(r"p99_us=(\d+)", out).group(1)) / 1000
    return rps, p99_ms


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    build()
    go_version = subprocess.run([GO, "version"], capture_output=True, text=True).stdout.strip()
    results = {}
    port = 19000
    for kind, load in (("http", wrk), ("echo", echoload)):
        for conns in (50, 500):
            for _ in range(rounds):
                for who in ("ours", "go"):
                    port += 1
                    p = start(kind, who, port)
                    try:
                        results.setdefault((kind, conns, who), []).append(load(port, conns, secs))
                    finally:
                        p.kill()
                        p.wait()
    print(f"{go_version}; {os.cpu_count()} CPUs; {rounds} alternating rounds of {secs} s; medians\n")
    print("| server | connections | ours req/s | Go req/s | ours/Go | ours p99 ms | Go p99 ms | p99 ours/Go |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("http", "echo"):
        for conns in (50, 500):
            o = results[(kind, conns, "ours")]
            g = results[(kind, conns, "go")]
            orps, grps = statistics.median(r for r, _ in o), statistics.median(r for r, _ in g)
            op99, gp99 = statistics.median(p for _, p in o), statistics.median(p for _, p in g)
            name = "HTTP hello (wrk)" if kind == "http" else "echo 64 B (echoload)"
            print(f"| {name} | {conns} | {orps:,.0f} | {grps:,.0f} | {orps / grps:.2f} | "
                  f"{op99:.2f} | {gp99:.2f} | {op99 / gp99:.2f} |")


if __name__ == "__main__":
    main()
