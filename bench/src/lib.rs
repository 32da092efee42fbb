//! What the benchmark programs share: argument parsing and the report line.
//!
//! Every program (ours, tokio's, Go's) takes `<workload> <n>` and prints one
//! line of `key=value` pairs that `run.py` reads: `ns_per_op`, `wall_ms`,
//! `cpu_ms`, `rss_base_kb` (before the workload), `rss_peak_kb` (VmHWM).

use std::time::{Duration, Instant};

/// `<workload> <n>` from the command line.
pub fn args() -> (String, u64) {
    let mut a = std::env::args().skip(1);
    let workload = a.next().expect("usage: <spawn|gosched|sleep> <n>");
    let n = a.next().and_then(|s| s.parse().ok()).expect("usage: <workload> <n>");
    (workload, n)
}

/// A field of /proc/self/status, in KiB.
pub fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of this process.
pub fn cpu_time() -> Duration {
    // /proc/self/stat: after the ")" closing the command name come the state
    // (field 3) and then numbers; utime and stime are fields 14 and 15, in
    // clock ticks (100 per second on Linux).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((tick(14) + tick(15)) * 10)
}

/// How long the sleepers of the `sleep` workload sleep: long enough that all
/// `n` are spawned and parked before the first wakes (1 s per 100,000).
pub fn sleep_window(n: u64) -> Duration {
    // `SLEEP_WINDOW_MS` overrides it, for slower set-ups (the mprotect
    // stack-guard fallback spawns at about a third of the speed).
    if let Some(ms) = std::env::var("SLEEP_WINDOW_MS").ok().and_then(|v| v.parse().ok()) {
        return Duration::from_millis(ms);
    }
    Duration::from_millis(1000 * n.div_ceil(100_000).max(1))
}

/// The fairness workload's computation: about a microsecond of arithmetic.
pub fn compute(mut x: u64) -> u64 {
    for _ in 0..1000 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
    std::hint::black_box(x)
}

/// Tracks the worst gap between ticks (the fairness workload).
pub struct Gaps {
    last: Instant,
    /// The longest gap so far.
    pub worst: Duration,
    /// Ticks so far.
    pub ticks: u64,
}

impl Default for Gaps {
    fn default() -> Self {
        Gaps { last: Instant::now(), worst: Duration::ZERO, ticks: 0 }
    }
}

impl Gaps {
    /// Records a tick now.
    pub fn tick(&mut self) {
        let now = Instant::now();
        self.worst = self.worst.max(now - self.last);
        self.last = now;
        self.ticks += 1;
    }

    /// The report line's extra field.
    pub fn field(&self) -> String {
        format!(" max_gap_us={}", self.worst.as_micros())
    }
}

/// Measures one run and prints the report line.
pub struct Report {
    start: Instant,
    cpu0: Duration,
    base_kb: u64,
    parked_kb: std::cell::Cell<u64>,
    /// Page tables (VmPTE) before the workload and with every sleeper parked:
    /// not part of RSS, but memory all the same.
    pte_base_kb: u64,
    pte_parked_kb: std::cell::Cell<u64>,
}

impl Report {
    pub fn start() -> Self {
        Report {
            start: Instant::now(),
            cpu0: cpu_time(),
            base_kb: status_kb("VmRSS:"),
            parked_kb: std::cell::Cell::new(0),
            pte_base_kb: status_kb("VmPTE:"),
            pte_parked_kb: std::cell::Cell::new(0),
        }
    }

    /// Records the RSS with every sleeper parked; fails the run if the first
    /// sleeper may already have woken (the window was too short).
    pub fn all_parked(&self, deadline: Instant) {
        self.parked_kb.set(status_kb("VmRSS:"));
        self.pte_parked_kb.set(status_kb("VmPTE:"));
        assert!(Instant::now() < deadline, "spawning outlasted the sleep window");
    }

    pub fn finish(self, ops: u64) {
        self.finish_with(ops, "");
    }

    /// As [`Report::finish`], with `extra` (` key=value` pairs, each after a
    /// space) appended to the report line.
    pub fn finish_with(self, ops: u64, extra: &str) {
        let wall = self.start.elapsed();
        let cpu = cpu_time().saturating_sub(self.cpu0);
        println!(
            "ns_per_op={:.1} wall_ms={:.1} cpu_ms={} rss_base_kb={} rss_parked_kb={} rss_peak_kb={} \
             pte_base_kb={} pte_parked_kb={}{extra}",
            wall.as_nanos() as f64 / ops.max(1) as f64,
            wall.as_secs_f64() * 1e3,
            cpu.as_millis(),
            self.base_kb,
            self.parked_kb.get(),
            status_kb("VmHWM:"),
            self.pte_base_kb,
            self.pte_parked_kb.get()
        );
    }
}
