//! `runtime::blocking`: a blocking call runs on a helper thread while only
//! the calling goroutine waits.

mod common;

use std::time::Duration;

use common::{is_child, run_child, texts};

#[test]
fn a_blocking_call_does_not_stall_its_worker() {
    // At GOMAXPROCS=1, a goroutine sleeps its thread for 300 ms through
    // `blocking` while a ticker goroutine on the same (only) worker keeps
    // ticking every 5 ms: its largest gap stays far below 300 ms.
    const NAME: &str = "a_blocking_call_does_not_stall_its_worker";
    if is_child(NAME) {
        let worst = go::run(|| {
            let sleeper = go::spawn(|| {
                go::runtime::blocking(|| std::thread::sleep(Duration::from_millis(300)));
            });
            let ticker = go::spawn(|| common::worst_tick_gap(Duration::from_millis(400)));
            sleeper.join().unwrap();
            ticker.join().unwrap()
        });
        println!("worst-gap-ms={}", worst.as_millis());
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    let ms = common::reported(&stdout, "worst-gap-ms", &stderr);
    assert!(ms < common::GAP_BOUND_MS, "the ticker stalled for {ms} ms");
}

#[test]
fn blocking_may_borrow_and_mutate_the_callers_locals() {
    let total = go::spawn(|| {
        let mut buf = vec![0u8; 1024];
        let n = go::runtime::blocking(|| {
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            buf.len()
        });
        assert_eq!(n, 1024);
        buf.iter().map(|&b| b as u64).sum::<u64>()
    })
    .join()
    .unwrap();
    assert_eq!(total, (0..1024u64).map(|i| i % 256).sum::<u64>());
}

#[test]
fn a_panic_in_the_blocking_call_resumes_in_the_caller() {
    let err = go::spawn(|| go::runtime::blocking(|| -> u8 { panic!("disk on fire") }))
        .join()
        .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"disk on fire"));
}

#[test]
fn many_concurrent_blocking_calls_all_complete() {
    let _w = common::watchdog(Duration::from_secs(60), "blocking calls");
    let wg = go::sync::WaitGroup::new();
    let sum = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for i in 0..200u64 {
        let sum = sum.clone();
        wg.go(move || {
            let v = go::runtime::blocking(|| {
                std::thread::sleep(Duration::from_millis(1));
                i
            });
            sum.fetch_add(v, std::sync::atomic::Ordering::Relaxed);
        });
    }
    wg.wait();
    assert_eq!(sum.load(std::sync::atomic::Ordering::Relaxed), (0..200).sum::<u64>());
}

#[test]
fn on_a_plain_thread_blocking_just_runs() {
    let id = std::thread::current().id();
    assert_eq!(go::runtime::blocking(|| std::thread::current().id()), id);
}
