//! Crashes behave like Go's: a detached goroutine's panic and a stack
//! overflow print Go's report and exit with status 2 (docs/go-semantics.md, 1, 5, 6,
//! 10, 18, 39). Each case runs in a child process.

mod common;

use std::time::Duration;

use common::{is_child, run_child, run_crashing_child, texts};

#[test]
fn detached_panic_prints_go_report_and_exits_2() {
    const NAME: &str = "detached_panic_prints_go_report_and_exits_2";
    if is_child(NAME) {
        go::run(|| {
            println!("before the crash");
            go::spawn(|| panic!("something bad happened"));
            go::time::sleep(Duration::from_secs(10));
            println!("unreachable: main kept running");
        });
        return;
    }
    let (stdout, stderr) = run_crashing_child(NAME, &[]);
    assert!(stdout.contains("before the crash"), "stdout printed before a crash is kept");
    assert!(stderr.starts_with("panic: something bad happened\n\ngoroutine "), "stderr: {stderr}");
    assert!(stderr.contains(" [running]:\n"), "stderr: {stderr}");
    assert!(stderr.contains("created by go::spawn in goroutine 1\n"), "stderr: {stderr}");
    assert!(stderr.contains("tests/runtime_crash.rs:"), "spawn site named: {stderr}");
    assert!(!stderr.contains("thread '"), "no Rust panic message: {stderr}");
}

#[test]
fn unjoined_panic_crashes_when_its_handle_drops() {
    const NAME: &str = "unjoined_panic_crashes_when_its_handle_drops";
    if is_child(NAME) {
        let h = go::spawn(|| panic!("nobody joined me"));
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(h);
        println!("unreachable");
        return;
    }
    let (_, stderr) = run_crashing_child(NAME, &[]);
    assert!(stderr.starts_with("panic: nobody joined me\n\n"), "stderr: {stderr}");
    assert!(stderr.contains("created by go::spawn outside the runtime"), "stderr: {stderr}");
}

#[test]
fn waitgroup_go_panic_is_reported_as_repanicked() {
    // docs/go-semantics.md, 39.
    const NAME: &str = "waitgroup_go_panic_is_reported_as_repanicked";
    if is_child(NAME) {
        let wg = go::sync::WaitGroup::new();
        wg.go(|| panic!("task failed"));
        wg.wait();
        println!("unreachable");
        return;
    }
    let (_, stderr) = run_crashing_child(NAME, &[]);
    assert!(
        stderr.starts_with("panic: task failed [recovered, repanicked]\n\n"),
        "stderr: {stderr}"
    );
}

#[test]
fn negative_waitgroup_counter_in_a_goroutine_crashes_with_go_text() {
    // docs/go-semantics.md, 36.
    const NAME: &str = "negative_waitgroup_counter_in_a_goroutine_crashes_with_go_text";
    if is_child(NAME) {
        go::run(|| {
            let wg = go::sync::WaitGroup::new();
            let w = wg.clone();
            go::spawn(move || w.done());
            go::time::sleep(Duration::from_secs(10));
        });
        return;
    }
    let (_, stderr) = run_crashing_child(NAME, &[]);
    assert!(stderr.starts_with("panic: sync: negative WaitGroup counter\n\n"), "stderr: {stderr}");
}

fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth as u8; 1024]);
    if depth == 0 {
        frame[0] as u64
    } else {
        recurse(depth - 1) + std::hint::black_box(frame)[1] as u64
    }
}

#[test]
fn stack_overflow_dies_with_go_message() {
    // docs/go-semantics.md, 5, 18: a fatal error, not undefined behaviour, not a bare SIGSEGV.
    const NAME: &str = "stack_overflow_dies_with_go_message";
    if is_child(NAME) {
        let h = go::spawn(|| recurse(u64::MAX));
        let _ = h.join();
        println!("unreachable");
        return;
    }
    let (_, stderr) = run_crashing_child(NAME, &[]);
    assert!(
        stderr.contains(
            "runtime: goroutine stack exceeds 65536-byte limit\nruntime: a bigger stack: "
        ) && stderr.contains("go::runtime::set_default_stack_size")
            && stderr.contains("\nfatal error: stack overflow\n\ngoroutine "),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("created by go::spawn outside the runtime\n"), "stderr: {stderr}");
    assert!(stderr.contains("tests/runtime_crash.rs:"), "spawn site named: {stderr}");
}

#[test]
fn stack_overflow_of_a_big_stack_is_caught_too() {
    const NAME: &str = "stack_overflow_of_a_big_stack_is_caught_too";
    if is_child(NAME) {
        let h = go::Builder::new().stack_size(1 << 20).spawn(|| recurse(u64::MAX)).unwrap();
        let _ = h.join();
        return;
    }
    let (_, stderr) = run_crashing_child(NAME, &[]);
    assert!(
        stderr.contains("exceeds 1048576-byte limit\n")
            && stderr.contains("\nfatal error: stack overflow"),
        "stderr: {stderr}"
    );
}

#[test]
fn deep_recursion_works_on_a_large_stack() {
    // 100,000 frames of at least 1 KiB each (a few KiB in debug builds):
    // reserve 1 GiB, Go's own limit; only touched pages cost memory.
    let h = go::Builder::new().stack_size(1 << 30).spawn(|| recurse(100_000)).unwrap();
    // Each frame adds its depth's low byte.
    let expect: u64 = (1..=100_000u64).map(|d| d as u8 as u64).sum();
    assert_eq!(h.join().unwrap(), expect);
}

#[test]
fn a_thread_fault_outside_goroutines_still_reaches_rust_handler() {
    // Our handler chains: a plain thread's own stack overflow is still
    // reported by Rust's handler, not mistaken for a goroutine's.
    const NAME: &str = "a_thread_fault_outside_goroutines_still_reaches_rust_handler";
    if is_child(NAME) {
        go::spawn(|| ()).join().unwrap(); // installs our handler
        let t =
            std::thread::Builder::new().stack_size(256 << 10).spawn(|| recurse(u64::MAX)).unwrap();
        let _ = t.join();
        return;
    }
    let out = run_child(NAME, &[]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("has overflowed its stack"), "stderr: {stderr}");
    assert!(!stderr.contains("fatal error: stack overflow"), "stderr: {stderr}");
}
