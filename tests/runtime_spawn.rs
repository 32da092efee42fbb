//! Spawning and joining goroutines (docs/go-semantics.md, 7, 10, 14).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{is_child, run_child, texts, watchdog};

#[test]
fn spawn_and_join_100k_goroutines_sums_every_result() {
    let _w = watchdog(Duration::from_secs(60), "100k spawn/join");
    let handles: Vec<_> = (0..100_000u64).map(|i| go::spawn(move || i * 2)).collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 2 * (100_000 * 99_999 / 2));
}

#[test]
fn spawn_from_goroutines_three_levels_deep() {
    let _w = watchdog(Duration::from_secs(30), "nested spawn");
    let total = go::run(|| {
        let level1: Vec<_> = (0..10u64)
            .map(|a| {
                go::spawn(move || {
                    let level2: Vec<_> = (0..10u64)
                        .map(|b| {
                            go::spawn(move || {
                                let level3: Vec<_> = (0..10u64)
                                    .map(|c| go::spawn(move || a * 100 + b * 10 + c))
                                    .collect();
                                level3.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                            })
                        })
                        .collect();
                    level2.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                })
            })
            .collect();
        level1.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(total, (0..1000u64).sum::<u64>());
}

#[test]
fn goroutines_run_on_every_worker() {
    const NAME: &str = "goroutines_run_on_every_worker";
    if is_child(NAME) {
        assert_eq!(go::runtime::gomaxprocs(), 4);
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let hs: Vec<_> = (0..400)
            .map(|_| {
                let seen = seen.clone();
                go::spawn(move || {
                    seen.lock().unwrap().insert(std::thread::current().id());
                    // Hold the worker so the others must steal.
                    std::thread::sleep(Duration::from_millis(1));
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let n = seen.lock().unwrap().len();
        println!("distinct-threads={n}");
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "4")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "child failed: {stderr}");
    // Four workers, so four threads at least; a fifth when sysmon hands a
    // worker stuck in a 1 ms sleep to a new thread (a sleep that took over
    // 20 ms: under an emulator, or on a paused VM).
    let n = common::reported(&stdout, "distinct-threads", &stderr);
    assert!(n >= 4, "stdout: {stdout}");
}

#[test]
fn joined_panic_returns_err_with_payload() {
    let n = std::hint::black_box(7);
    let h = go::spawn(move || -> u8 { panic!("boom {n}") });
    let err = h.join().unwrap_err();
    assert_eq!(err.downcast_ref::<String>().map(String::as_str), Some("boom 7"));
    // The runtime keeps working after a joined panic.
    assert_eq!(go::spawn(|| 5).join().unwrap(), 5);
}

#[test]
fn arguments_are_evaluated_by_the_spawner() {
    // docs/go-semantics.md, 7: the values a goroutine gets are those at spawn time.
    let mut x = 1;
    let h = go::spawn(move || x * 10);
    x += 1;
    assert_eq!(x, 2);
    assert_eq!(h.join().unwrap(), 10);
}

#[test]
fn goroutine_ids_are_unique_and_nonzero() {
    let hs: Vec<_> = (0..1000).map(|_| go::spawn(go::runtime::goroutine_id)).collect();
    let ids: HashSet<u64> =
        hs.into_iter().map(|h| h.join().unwrap().expect("on a goroutine")).collect();
    assert_eq!(ids.len(), 1000);
    assert!(!ids.contains(&0));
    assert_eq!(go::runtime::goroutine_id(), None, "a test thread is not a goroutine");
}

#[test]
fn num_goroutine_counts_blocked_goroutines() {
    const NAME: &str = "num_goroutine_counts_blocked_goroutines";
    if is_child(NAME) {
        go::run(|| {
            // docs/go-semantics.md, 14: 1 at main start.
            assert_eq!(go::runtime::num_goroutine(), 1);
            let wg = go::sync::WaitGroup::new();
            wg.add(1);
            let hs: Vec<_> = (0..10)
                .map(|_| {
                    let wg = wg.clone();
                    go::spawn(move || wg.wait())
                })
                .collect();
            while go::runtime::num_goroutine() != 11 {
                go::runtime::gosched();
            }
            wg.done();
            for h in hs {
                h.join().unwrap();
            }
            // Finished goroutines are no longer counted (their worker may
            // still be releasing the last stack).
            while go::runtime::num_goroutine() != 1 {
                go::runtime::gosched();
            }
            println!("ok");
        });
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success() && stdout.contains("ok"), "stderr: {stderr}");
}

#[test]
fn builder_names_and_sizes_goroutines() {
    let h = go::Builder::new()
        .name("fetcher")
        .stack_size(1 << 20)
        .spawn(go::runtime::goroutine_name)
        .unwrap();
    assert_eq!(h.join().unwrap().as_deref(), Some("fetcher"));
    assert_eq!(go::spawn(go::runtime::goroutine_name).join().unwrap(), None);
}

#[test]
fn join_from_a_goroutine_parks_only_that_goroutine() {
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    let total = go::run(move || {
        let hs: Vec<_> = (0..100)
            .map(|_| {
                let c = c.clone();
                go::spawn(move || {
                    go::time::sleep(Duration::from_millis(5));
                    c.fetch_add(1, Ordering::Relaxed)
                })
            })
            .collect();
        // Each goroutine saw a distinct previous count: 0..100.
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(total, 4950);
    assert_eq!(counter.load(Ordering::Relaxed), 100);
}

/// 1,000 goroutines spawned in one burst by one goroutine, each then
/// yielding: a goroutine stays on the worker it first ran on, so the
/// workers must share out the ones not started yet while both are busy,
/// not only when one is idle (scheduler README, "Balancing new
/// goroutines"). At GOMAXPROCS=2 neither worker starts more than 80% of
/// them, in 3 runs of 5 (one worker started 90-94% in every run before;
/// 50-65% after, and over 80% in 2 runs of 20 with two busy loops taking
/// the CPUs, when the second worker's thread got no CPU until the burst
/// had started).
#[test]
fn a_burst_of_spawned_goroutines_is_shared_by_the_workers() {
    const NAME: &str = "a_burst_of_spawned_goroutines_is_shared_by_the_workers";
    if is_child(NAME) {
        let homes = go::run(|| {
            let homes = Arc::new(Mutex::new(std::collections::HashMap::new()));
            let hs: Vec<_> = (0..1000)
                .map(|_| {
                    let homes = homes.clone();
                    go::spawn(move || {
                        *homes
                            .lock()
                            .unwrap()
                            .entry(std::thread::current().id())
                            .or_insert(0u32) += 1;
                        for _ in 0..200 {
                            go::runtime::gosched();
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            homes
        });
        let most = homes.lock().unwrap().values().copied().max().unwrap_or(0);
        println!("most={most}");
        return;
    }
    let mut most = Vec::new();
    for _ in 0..5 {
        let out = run_child(NAME, &[("GOMAXPROCS", "2")]);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "child failed: {stderr}");
        most.push(common::reported(&stdout, "most", &stderr));
    }
    let shared = most.iter().filter(|&&n| n <= 800).count();
    assert!(shared >= 3, "goroutines started by the busiest of 2 workers, per run: {most:?}");
}
