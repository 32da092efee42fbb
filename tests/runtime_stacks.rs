//! Goroutine stacks: guard pages in one mapping, the mprotect fallback, and
//! clear errors when stacks cannot be mapped. Each case runs in a child.

mod common;

use std::time::Duration;

use common::{is_child, run_child, texts};

/// Lines of /proc/self/maps: one per memory mapping (VMA).
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// Parks `n` goroutines in `sleep`, prints the mapping count while they are
/// all parked, then joins them.
fn park_many_and_count(n: usize) {
    let wg = go::sync::WaitGroup::new();
    let parked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..n {
        let p = parked.clone();
        wg.go(move || {
            p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            go::time::sleep(Duration::from_millis(500));
        });
    }
    while parked.load(std::sync::atomic::Ordering::SeqCst) < n {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("mappings={}", mappings());
    wg.wait();
}

fn mapping_count(stdout: &str) -> usize {
    common::reported(stdout, "mappings", "") as usize
}

/// Whether this kernel has MADV_GUARD_INSTALL (Linux 6.13+).
fn kernel_has_guard_install() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 13)
}

#[test]
fn twenty_thousand_parked_goroutines_need_few_mappings() {
    const NAME: &str = "twenty_thousand_parked_goroutines_need_few_mappings";
    if is_child(NAME) {
        park_many_and_count(20_000);
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let n = mapping_count(&stdout);
    if kernel_has_guard_install() {
        // Guards installed inside ~21 slab mappings, not 40,000 VMAs.
        assert!(n < 1000, "{n} mappings for 20,000 goroutines");
    } else {
        assert!(n > 40_000, "the mprotect fallback splits each slab: {n}");
    }
}

#[test]
fn mprotect_fallback_runs_goroutines_and_catches_overflow() {
    const NAME: &str = "mprotect_fallback_runs_goroutines_and_catches_overflow";
    if is_child(NAME) {
        park_many_and_count(2_000);
        fn recurse(d: u64) -> u64 {
            let frame = std::hint::black_box([d as u8; 512]);
            if d == u64::MAX { 0 } else { recurse(d + 1) + frame[1] as u64 }
        }
        let _ = go::spawn(|| recurse(0)).join();
        println!("unreachable");
        return;
    }
    let out = run_child(NAME, &[("GODEBUG", "stackguard=mprotect")]);
    let (stdout, stderr) = texts(&out);
    // Each guard splits the mapping: two VMAs per stack.
    assert!(mapping_count(&stdout) > 4_000, "stdout: {stdout}");
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("fatal error: stack overflow"), "stderr: {stderr}");
    assert!(!stdout.contains("unreachable"));
}

#[test]
fn failing_to_map_a_stack_is_a_clear_error_naming_the_limit() {
    const NAME: &str = "failing_to_map_a_stack_is_a_clear_error_naming_the_limit";
    if is_child(NAME) {
        // Start the runtime, then leave no room for another stack slab.
        go::spawn(|| ()).join().unwrap();
        // Panics below must not need memory (a backtrace maps debug info).
        std::panic::set_hook(Box::new(|_| {}));
        // 128 MiB of headroom: room for the panics' allocations and the
        // runtime's own threads (sysmon may start one), not for a slab of
        // 256 MiB stacks.
        limit_address_space(128);
        // A 256 MiB stack class has no slab yet: mapping one must fail.
        let err = go::Builder::new().stack_size(256 << 20).spawn(|| ()).unwrap_err();
        println!("builder-error={err}");
        let panic = std::panic::catch_unwind(|| {
            go::Builder::new().stack_size(256 << 20).spawn(|| ()).unwrap()
        });
        assert!(panic.is_err());
        let msg = std::panic::catch_unwind(|| {
            go::runtime::set_default_stack_size(256 << 20);
            go::spawn(|| ())
        })
        .unwrap_err();
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        println!("spawn-panic={msg}");
        return;
    }
    // One malloc arena: a thread's first allocation would otherwise reserve
    // a 64 MiB arena of address space, which the lowered limit may not have
    // room for (the child then cannot even allocate its panic).
    let out = run_child(NAME, &[("MALLOC_ARENA_MAX", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    for key in ["builder-error=", "spawn-panic="] {
        let line =
            stdout.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{key}: {stdout}"));
        assert!(line.contains("go: cannot map a goroutine stack"), "{line}");
        assert!(line.contains("vm.max_map_count"), "{line}");
    }
}

/// Recursion `depth` frames deep, each with 256 bytes the optimizer
/// cannot drop; returns `depth`.
fn deep(depth: u32) -> u32 {
    let pad = std::hint::black_box([0u8; 256]);
    if depth == 0 { u32::from(pad[0]) } else { 1 + deep(depth - 1) + u32::from(pad[255]) }
}

/// A singly linked list whose `Drop` recurses once per node (Rust's
/// default for `Box` chains).
struct Node {
    _next: Option<Box<Node>>,
}

fn list(n: usize) -> Option<Box<Node>> {
    let mut head = None;
    for _ in 0..n {
        head = Some(Box::new(Node { _next: head }));
    }
    head
}

/// The main goroutine is as deep as a main thread (8 MiB): 10,000 frames of
/// over 256 bytes and the recursive drop of a 20,000-node list, which died
/// of `fatal error: stack overflow` at 64 KiB before.
#[go::test]
fn the_main_goroutine_has_a_main_threads_stack() {
    assert_eq!(deep(10_000), 10_000);
    drop(list(20_000));
}

/// `goroutine_stack_size` sets every other goroutine's default stack.
#[go::test(goroutine_stack_size = 8 << 20)]
fn goroutine_stack_size_sets_the_default() {
    let h = go::spawn(|| {
        drop(list(20_000));
        deep(10_000)
    });
    assert!(h.join().is_ok());
    go::runtime::set_default_stack_size(64 << 10);
}

/// A stack size past the 1 GiB maximum, or one that would overflow when
/// rounded, is `spawn`'s error (before: `usize::MAX` spawned and then died
/// with "stack exceeds 1-byte limit", and `(1 << 47) + 1` panicked).
#[test]
fn absurd_stack_sizes_are_errors() {
    for size in [usize::MAX, (1 << 47) + 1, (1 << 30) + 1] {
        let err = go::Builder::new().stack_size(size).spawn(|| ()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{size}");
        assert!(err.to_string().contains("exceeds the maximum"), "{err}");
    }
}

/// `maybe_grow` moves a deep computation to a fresh segment: a 100,000-node
/// list's recursive drop, which overflows a 64 KiB goroutine and a 2 MiB
/// thread, succeeds on both.
#[test]
fn maybe_grow_runs_deep_drops_on_a_fresh_segment() {
    // On the goroutine fewer than 64 KiB are ever left: it grows.
    let on_goroutine = || go::runtime::maybe_grow(64 << 10, 64 << 20, || drop(list(100_000)));
    go::Builder::new().stack_size(64 << 10).spawn(on_goroutine).unwrap().join().unwrap();
    // A std thread has 2 MiB: ask for 8 MiB to be left, so that it grows.
    let on_thread = || go::runtime::maybe_grow(8 << 20, 64 << 20, || drop(list(100_000)));
    std::thread::spawn(on_thread).join().unwrap();
}

/// Called at every level of a recursion (rustc's use), it chains segments:
/// a million levels on 64 KiB of goroutine stack.
#[test]
fn maybe_grow_at_every_level_chains_segments() {
    fn sum(n: u64) -> u64 {
        go::runtime::maybe_grow(32 << 10, 1 << 20, || if n == 0 { 0 } else { n + sum(n - 1) })
    }
    let h = go::Builder::new().stack_size(64 << 10).spawn(|| sum(1_000_000)).unwrap();
    assert_eq!(h.join().unwrap(), 1_000_000 * 1_000_001 / 2);
}

/// Overflowing a segment is Go's fatal error too, on a goroutine and on a
/// plain thread.
#[test]
fn overflowing_a_segment_is_a_fatal_error() {
    const NAME: &str = "overflowing_a_segment_is_a_fatal_error";
    if is_child(NAME) {
        let on_thread = std::env::var("ON_THREAD").is_ok();
        let run = || go::runtime::maybe_grow(usize::MAX, 64 << 10, || deep(u32::MAX));
        if on_thread {
            std::thread::spawn(run).join().unwrap();
        } else {
            go::spawn(run).join().unwrap();
        }
        println!("unreachable");
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\nfatal error: stack overflow\n"), "{stderr}");
    assert!(!stdout.contains("unreachable"));
    let out = run_child(NAME, &[("ON_THREAD", "1")]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("maybe_grow stack segment is exhausted"), "{stderr}");
}

/// When the kernel refuses the usual 64 MiB reservation of a stack slab
/// (strict overcommit; here an address-space limit), the runtime reserves
/// less at a time, says so once on stderr, and goroutines keep starting.
#[test]
fn a_refused_reservation_falls_back_to_smaller_ones() {
    const NAME: &str = "a_refused_reservation_falls_back_to_smaller_ones";
    if is_child(NAME) {
        go::spawn(|| ()).join().unwrap();
        // Room for small slabs and the goroutines' pages, not for 64 MiB.
        limit_address_space(48);
        // More parked goroutines than the first slab holds.
        let gate = go::chan::Chan::<()>::new(0);
        let started = go::sync::WaitGroup::new();
        let hs: Vec<_> = (0..600)
            .map(|_| {
                let (g, s) = (gate.clone(), started.clone());
                s.add(1);
                go::spawn(move || {
                    s.done();
                    g.recv()
                })
            })
            .collect();
        // All 600 hold a stack at once: more than the first slab has.
        started.wait();
        gate.close();
        for h in hs {
            h.join().unwrap();
        }
        println!("all 600 ran");
        return;
    }
    let out = run_child(NAME, &[("MALLOC_ARENA_MAX", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("all 600 ran"), "{stdout}");
    assert_eq!(stderr.matches("go: the kernel refused to reserve").count(), 1, "{stderr}");
}

/// Limits this process's address space to its current size plus
/// `headroom_mib` MiB (RLIMIT_AS), so that a large reservation fails.
fn limit_address_space(headroom_mib: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    let limit = (vm_kb + headroom_mib * 1024) * 1024;
    let rl = libc::rlimit { rlim_cur: limit, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: setrlimit only reads `rl`.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
}
