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

/// Whether this system installs real guards with `MADV_GUARD_INSTALL`
/// (Linux 6.13+), asked as the runtime asks: the advice succeeds on a
/// fresh page and a write of that page to a pipe then fails with `EFAULT`.
/// (Not the kernel's version: an emulator such as qemu-user reports a
/// new kernel and fakes the advice.)
fn guards_install_in_place() -> bool {
    const MADV_GUARD_INSTALL: libc::c_int = 102;
    // SAFETY: a fresh private anonymous page, written to our own pipe and
    // unmapped; nothing else refers to it.
    unsafe {
        let len = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        let p =
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, flags, -1, 0);
        assert_ne!(p, libc::MAP_FAILED);
        let mut fds = [0; 2];
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let guarded =
            libc::madvise(p, len, MADV_GUARD_INSTALL) == 0 && libc::write(fds[1], p, 1) != 1;
        libc::close(fds[0]);
        libc::close(fds[1]);
        libc::munmap(p, len);
        guarded
    }
}

/// Whether stacks are guarded with `mprotect` here: an older kernel, or
/// `GODEBUG=stackguard=mprotect` (which `.ci/run` sets for a second pass).
fn mprotect_fallback() -> bool {
    let forced = std::env::var("GODEBUG").is_ok_and(|v| v.contains("stackguard=mprotect"));
    forced || !guards_install_in_place()
}

/// `vm.max_map_count`.
fn max_map_count() -> usize {
    let s = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap();
    s.trim().parse().unwrap()
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
    if mprotect_fallback() {
        // Two mappings per guarded stack, but at most a quarter of the
        // mapping limit in stacks keeps a guard: parked ones give theirs
        // back (40,000 mappings without that).
        assert!(n < max_map_count() / 2 + 1000, "{n} mappings for 20,000 goroutines");
    } else {
        // Guards installed inside ~21 slab mappings, not 40,000 VMAs.
        assert!(n < 1000, "{n} mappings for 20,000 goroutines");
    }
}

/// On the `mprotect` fallback with a budget of 64 guarded stacks: a
/// goroutine that parked first (so its guard was taken while 2,000 more
/// parked) gets it back before it runs again, and overflowing then is
/// Go's fatal error, not a write into a neighbour's stack.
#[test]
fn overflowing_after_a_long_park_on_the_mprotect_fallback_is_fatal() {
    const NAME: &str = "overflowing_after_a_long_park_on_the_mprotect_fallback_is_fatal";
    if is_child(NAME) {
        fn recurse(d: u64) -> u64 {
            let frame = std::hint::black_box([d as u8; 512]);
            if d == u64::MAX { 0 } else { recurse(d + 1) + frame[1] as u64 }
        }
        let ch = go::chan::Chan::<()>::new(0);
        let rx = ch.clone();
        let first = go::spawn(move || {
            rx.recv();
            recurse(0)
        });
        std::thread::sleep(Duration::from_millis(50));
        park_many_and_count(2_000);
        ch.send(());
        let _ = first.join();
        println!("unreachable");
        return;
    }
    let out = run_child(NAME, &[("GODEBUG", "stackguard=mprotect,stackguards=64")]);
    let (stdout, stderr) = texts(&out);
    // 2,001 guarded stacks would be over 4,000 mappings.
    let n = mapping_count(&stdout);
    assert!(n < 1000, "{n} mappings; stdout: {stdout}");
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("fatal error: stack overflow"), "stderr: {stderr}");
    assert!(!stdout.contains("unreachable"));
}

/// A million parked goroutines on the `mprotect` fallback, with the
/// default mapping limit (two million mappings if every stack kept its
/// guard): all park, all wake, all finish.
#[test]
fn a_million_parked_goroutines_on_the_mprotect_fallback() {
    const NAME: &str = "a_million_parked_goroutines_on_the_mprotect_fallback";
    const N: usize = 1_000_000;
    if is_child(NAME) {
        let ch = go::chan::Chan::<()>::new(0);
        let parked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let wg = go::sync::WaitGroup::new();
        for _ in 0..N {
            let (rx, parked) = (ch.clone(), parked.clone());
            wg.go(move || {
                parked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                assert!(rx.recv().is_none(), "closed, never sent to");
            });
        }
        while parked.load(std::sync::atomic::Ordering::Relaxed) < N {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the last ones reach their receive.
        std::thread::sleep(Duration::from_millis(200));
        println!("mappings={}", mappings());
        println!("goroutines={}", go::runtime::num_goroutine());
        ch.close();
        wg.wait();
        println!("done");
        return;
    }
    let out = run_child(NAME, &[("GODEBUG", "stackguard=mprotect")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("done"), "stdout: {stdout}");
    assert!(common::reported(&stdout, "goroutines", "") as usize >= N, "stdout: {stdout}");
    assert!(mapping_count(&stdout) < max_map_count(), "stdout: {stdout}");
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
    // On the goroutine fewer than 1 MiB are ever left (its 64 KiB are
    // rounded up to two pages, 128 KiB where pages are 64 KiB): it grows.
    let on_goroutine = || go::runtime::maybe_grow(1 << 20, 64 << 20, || drop(list(100_000)));
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

/// Sweeps take guards while goroutines are being woken: with a budget of
/// 16 guarded stacks, 400 goroutines pass 40 tokens round a ring (a
/// wake-up that lands while a sweep holds its goroutine is handed on by
/// the sweep), and plain threads wake some of them too. Every hop arrives.
#[test]
fn sweeps_lose_no_wake_up() {
    const NAME: &str = "sweeps_lose_no_wake_up";
    const RING: usize = 400;
    const TOKENS: usize = 40;
    const HOPS: usize = 200;
    if is_child(NAME) {
        let _dog = common::watchdog(Duration::from_secs(60), "the token ring");
        let chans: Vec<go::chan::Chan<usize>> =
            (0..RING).map(|_| go::chan::Chan::new(TOKENS)).collect();
        let hops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let wg = go::sync::WaitGroup::new();
        for i in 0..RING {
            let (me, next, hops) = (chans[i].clone(), chans[(i + 1) % RING].clone(), hops.clone());
            wg.go(move || {
                while let Some(left) = me.recv() {
                    hops.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if left > 0 {
                        next.send(left - 1);
                    }
                }
            });
        }
        // Tokens enter from plain threads, at spread-out places.
        let feeders: Vec<_> = (0..TOKENS)
            .map(|t| {
                let ch = chans[t * RING / TOKENS].clone();
                std::thread::spawn(move || ch.send(HOPS - 1))
            })
            .collect();
        for f in feeders {
            f.join().unwrap();
        }
        while hops.load(std::sync::atomic::Ordering::Relaxed) < TOKENS * HOPS {
            std::thread::sleep(Duration::from_millis(5));
        }
        for ch in &chans {
            ch.close();
        }
        wg.wait();
        println!("hops={}", hops.load(std::sync::atomic::Ordering::Relaxed));
        return;
    }
    let out = run_child(NAME, &[("GODEBUG", "stackguard=mprotect,stackguards=16")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(common::reported(&stdout, "hops", &stderr) as usize, TOKENS * HOPS);
}
