//! `time::sleep` parks goroutines, not threads (docs/go-semantics.md, 51).

mod common;

use std::time::{Duration, Instant};

use common::{is_child, run_child, texts, watchdog};
use go::sync::WaitGroup;

#[test]
fn ten_thousand_sleepers_finish_in_about_one_period() {
    let _w = watchdog(Duration::from_secs(30), "10k sleepers");
    let start = Instant::now();
    let wg = WaitGroup::new();
    for _ in 0..10_000 {
        wg.go(|| go::time::sleep(50 * go::time::MILLISECOND));
    }
    wg.wait();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(50));
    // One period, with a wide margin for a loaded CI machine; sleeping in
    // turn would take 10,000 periods.
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn every_sleeper_sleeps_at_least_its_duration() {
    let hs: Vec<_> = (1..=50u64)
        .map(|ms| {
            go::spawn(move || {
                let t = Instant::now();
                go::time::sleep(Duration::from_millis(ms));
                t.elapsed() >= Duration::from_millis(ms)
            })
        })
        .collect();
    assert!(hs.into_iter().all(|h| h.join().unwrap()));
}

#[test]
fn zero_sleep_returns_at_once() {
    // docs/go-semantics.md, 51.
    let t = Instant::now();
    go::spawn(|| {
        for _ in 0..1000 {
            go::time::sleep(Duration::ZERO);
        }
    })
    .join()
    .unwrap();
    go::time::sleep(Duration::ZERO);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn sleeping_goroutines_do_not_block_their_worker() {
    // At GOMAXPROCS=1 a sleeping goroutine leaves the only worker free.
    const NAME: &str = "sleeping_goroutines_do_not_block_their_worker";
    if is_child(NAME) {
        go::run(|| {
            let sleeper = go::spawn(|| go::time::sleep(Duration::from_millis(300)));
            let t = Instant::now();
            let sum: u64 =
                (0..100u64).map(|i| go::spawn(move || i)).map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 4950);
            println!("others-done-in-ms={}", t.elapsed().as_millis());
            sleeper.join().unwrap();
        });
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let ms = common::reported(&stdout, "others-done-in-ms", &stderr);
    assert!(ms < 150, "the others waited for the sleeper: {ms} ms");
}

#[test]
fn sleep_on_a_plain_thread_sleeps_the_thread() {
    let t = Instant::now();
    go::time::sleep(Duration::from_millis(10));
    assert!(t.elapsed() >= Duration::from_millis(10));
}

#[test]
fn go_style_constants_port_durations() {
    assert_eq!(500 * go::time::MILLISECOND, Duration::from_millis(500));
    assert_eq!(3 * go::time::SECOND, Duration::from_secs(3));
    assert_eq!(go::time::MINUTE, 60 * go::time::SECOND);
    assert_eq!(go::time::HOUR, 60 * go::time::MINUTE);
    assert_eq!(go::time::MICROSECOND, 1000 * go::time::NANOSECOND);
}
