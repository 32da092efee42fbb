//! The tutorial's claim, section 5: "This allows Go to run thousands of
//! goroutines simultaneously." Here are 100,000 of them, all alive at once
//! (each blocked on a channel), with the memory they use next to what
//! 100,000 OS threads would reserve for their stacks.

use go::sync::WaitGroup;
use go::{go, make};

const N: usize = 100_000;

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn wait_for(release: &go::chan::Chan<()>, ready: &WaitGroup) {
    ready.done();
    release.recv();
}

#[go::main]
fn main() {
    let before = rss_kib();
    let release = make!(chan());
    let ready = WaitGroup::new();
    ready.add(N as i64);
    for _ in 0..N {
        go!(wait_for(&release, &ready));
    }
    ready.wait();
    let during = rss_kib();
    let live = go::runtime::num_goroutine();
    release.close();

    let per = (during.saturating_sub(before)) as f64 / N as f64;
    // Rust's default thread stack is 2 MiB, glibc's (and Go's M) 8 MiB.
    let threads_gib = N as f64 * 2.0 / 1024.0;
    println!("{live} goroutines alive at once");
    println!(
        "goroutines: {:.1} MiB resident ({per:.2} KiB each)",
        (during.saturating_sub(before)) as f64 / 1024.0
    );
    println!(
        "{N} OS threads: {threads_gib:.0} GiB of stack reserved (2 MiB each), and a kernel task each"
    );
}
