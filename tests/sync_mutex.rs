//! `Mutex` and `RwMutex` (docs/go-semantics.md, 41-45) and the tutorial's mutex example.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::watchdog;
use go::sync::{Mutex, RwMutex, WaitGroup};

#[test]
fn tutorial_mutex_counter_is_1000_on_every_one_of_100_runs() {
    // Tutorial section 9: 1000 goroutines increment a counter under a mutex.
    static COUNTER: Mutex<i64> = Mutex::new(0);
    let _w = watchdog(Duration::from_secs(120), "tutorial mutex example");
    for run in 0..100 {
        *COUNTER.lock() = 0;
        let wg = WaitGroup::new();
        for _ in 0..1000 {
            wg.add(1);
            let wg = wg.clone();
            go::spawn(move || {
                *COUNTER.lock() += 1;
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(*COUNTER.lock(), 1000, "run {run}");
    }
}

#[test]
fn mutex_excludes_under_contention_from_goroutines_and_threads() {
    let _w = watchdog(Duration::from_secs(60), "mutex contention");
    let m = Arc::new(Mutex::new((0u64, 0u64)));
    let wg = WaitGroup::new();
    for _ in 0..8 {
        let m = m.clone();
        wg.go(move || {
            for _ in 0..10_000 {
                let mut g = m.lock();
                // Both fields change together only if nobody else is inside.
                g.0 += 1;
                if g.0.is_multiple_of(100) {
                    go::runtime::gosched(); // hold it across a switch
                }
                g.1 += 1;
            }
        });
    }
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    let mut g = m.lock();
                    g.0 += 1;
                    g.1 += 1;
                }
            })
        })
        .collect();
    wg.wait();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*m.lock(), (100_000, 100_000));
}

#[test]
fn item_41_not_reentrant() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock();
    assert!(m.try_lock().is_none(), "the holder's TryLock is false");
    drop(g);
    let m2 = m.clone();
    let locked = go::chan::Chan::new(1);
    let tell = locked.clone();
    let h = go::spawn(move || {
        let _a = m2.lock();
        tell.send(());
        let _b = m2.lock(); // blocks forever
    });
    // Once it holds the lock (however long it took to start), its second
    // lock blocks: still blocked 30 ms later, and the lock still held.
    locked.recv();
    go::time::sleep(Duration::from_millis(30));
    assert!(!h.is_finished());
    assert!(m.try_lock().is_none());
}

#[test]
fn item_42_unlock_from_another_goroutine() {
    static M: Mutex<i32> = Mutex::new(1);
    let g = M.lock();
    // The guard goes to another goroutine, which unlocks.
    let h = go::spawn(move || drop(g));
    h.join().unwrap();
    assert_eq!(*M.lock(), 1);
}

#[test]
fn item_43_a_starving_waiter_gets_the_lock_in_bounded_time() {
    // At GOMAXPROCS=1 two goroutines hammer the mutex, yielding while they
    // hold it; without starvation mode the lock would bounce between them
    // and a third waiter would wait until they stop (300 ms). Go measures a
    // worst case of about 5 ms; the bound here is 20x that.
    const NAME: &str = "item_43_a_starving_waiter_gets_the_lock_in_bounded_time";
    if common::is_child(NAME) {
        let waited = go::run(|| {
            static M: Mutex<u64> = Mutex::new(0);
            let until = Instant::now() + Duration::from_millis(300);
            let hammers: Vec<_> = (0..2)
                .map(|_| {
                    go::spawn(move || {
                        while Instant::now() < until {
                            let mut g = M.lock();
                            *g += 1;
                            go::runtime::gosched();
                        }
                    })
                })
                .collect();
            go::time::sleep(Duration::from_millis(10));
            let t = Instant::now();
            drop(M.lock());
            let waited = t.elapsed();
            hammers.into_iter().for_each(|h| h.join().unwrap());
            waited
        });
        println!("waited-ms={}", waited.as_millis());
        return;
    }
    let out = common::run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = common::texts(&out);
    let ms = common::reported(&stdout, "waited-ms", &stderr);
    assert!(ms < 100, "the third waiter waited {ms} ms");
}

/// In a child: 64 goroutines spread over the workers queue behind a lock
/// held 5 ms more, so the mutex starts out in starvation mode; then each
/// locks it 8,000 times. Prints how long the locking took and on how many
/// worker threads the goroutines ran.
fn starving_mutex_child() {
    let _w = watchdog(Duration::from_secs(20), "a convoy of mutex hand-offs");
    let (elapsed, workers) = go::run(|| {
        static M: Mutex<u64> = Mutex::new(0);
        // The worker threads the goroutines ran on.
        let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let (wg, started) = (WaitGroup::new(), WaitGroup::new());
        let held = M.lock();
        for _ in 0..64 {
            let threads = threads.clone();
            started.add(1);
            let started = started.clone();
            wg.go(move || {
                threads.lock().insert(std::thread::current().id());
                // 3 ms blocked in the kernel, not through the runtime:
                // meanwhile the other workers steal goroutines not yet
                // started (with more workers than CPUs, those beyond the
                // CPUs take them once sysmon has seen these threads off
                // their CPUs at two looks a millisecond apart: scheduler
                // README, "More workers than CPUs").
                std::thread::sleep(Duration::from_millis(3));
                started.done();
                for _ in 0..8000 {
                    *M.lock() += 1;
                }
            });
        }
        started.wait();
        go::time::sleep(Duration::from_millis(5));
        let t = Instant::now();
        drop(held);
        wg.wait();
        assert_eq!(*M.lock(), 512_000);
        (t.elapsed(), threads.lock().len())
    });
    println!("elapsed-ms={}\nworkers={workers}", elapsed.as_millis());
}

/// Runs [`starving_mutex_child`] as test `name` at `procs`; checks that
/// the goroutines ran on at least `spread` workers and the locking took
/// under half a second.
fn check_no_convoy(name: &str, procs: &str, spread: u64) {
    let out = common::run_child(name, &[("GOMAXPROCS", procs)]);
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let workers = common::reported(&stdout, "workers", &stderr);
    assert!(workers >= spread, "goroutines ran on {workers} workers: {stdout}");
    let ms = common::reported(&stdout, "elapsed-ms", &stderr);
    assert!(ms < 500, "512,000 contended locks took {ms} ms");
}

#[test]
fn a_starving_mutex_shared_by_two_workers_does_not_convoy() {
    // A hand-off to a waiter on the other worker costs a cross-thread
    // wake-up (microseconds) with the lock held meanwhile. Leaving starvation
    // mode only when the queue empties (which re-lockers never let happen)
    // kept the mutex handing off: 1-3 s for the 512,000 locks here; with
    // Go's other exit (a waiter served within 1 ms) 20-40 ms.
    const NAME: &str = "a_starving_mutex_shared_by_two_workers_does_not_convoy";
    if common::is_child(NAME) {
        return starving_mutex_child();
    }
    check_no_convoy(NAME, "2", 2);
}

#[test]
fn a_starving_mutex_on_more_workers_than_cpus_does_not_convoy() {
    // The same at GOMAXPROCS=8 (on any machine with fewer CPUs, this one's
    // two): a waiter's worker thread may wait milliseconds for a CPU, so
    // waits pass 1 ms and Go's exit never comes; FIFO hand-offs across
    // workers took 9-76 s in 3 runs of 6 (the watchdog now stops that at
    // 20). Hand-off batches, a millisecond of hand-offs among the waiters
    // of the unlocker's worker before the oldest elsewhere gets the lock,
    // take 35-53 ms.
    const NAME: &str = "a_starving_mutex_on_more_workers_than_cpus_does_not_convoy";
    if common::is_child(NAME) {
        return starving_mutex_child();
    }
    check_no_convoy(NAME, "8", 3);
}

#[test]
fn item_44_try_lock_never_blocks() {
    let m = Mutex::new(0);
    let rw = RwMutex::new(0);
    let t = Instant::now();
    let g = m.lock();
    let w = rw.write();
    for _ in 0..1000 {
        assert!(m.try_lock().is_none());
        assert!(rw.try_read().is_none());
        assert!(rw.try_write().is_none());
    }
    drop((g, w));
    assert!(t.elapsed() < Duration::from_secs(1));
    let r = rw.read();
    assert!(rw.try_read().is_some(), "readers share");
    assert!(rw.try_write().is_none());
    drop(r);
}

#[test]
fn item_44_try_read_fails_while_a_writer_waits() {
    let rw = Arc::new(RwMutex::new(0));
    let r = rw.read();
    let rw2 = rw.clone();
    let writer = go::spawn(move || *rw2.write() += 1);
    while rw.try_read().is_some() {
        go::time::sleep(Duration::from_millis(1));
    }
    // The writer is waiting: new readers are refused.
    assert!(rw.try_read().is_none());
    drop(r);
    writer.join().unwrap();
    assert_eq!(*rw.read(), 1);
}

#[test]
fn item_45_writer_preference() {
    // Once a writer waits, a new reader blocks until the writer has locked
    // and unlocked.
    let rw = Arc::new(RwMutex::new(Vec::new()));
    let first = rw.read();
    let w = {
        let rw = rw.clone();
        go::spawn(move || rw.write().push("writer"))
    };
    while rw.try_read().is_some() {
        go::time::sleep(Duration::from_millis(1));
    }
    let r = {
        let rw = rw.clone();
        go::spawn(move || rw.read().clone())
    };
    go::time::sleep(Duration::from_millis(20));
    assert!(!r.is_finished(), "a new reader overtook a waiting writer");
    drop(first);
    w.join().unwrap();
    assert_eq!(r.join().unwrap(), ["writer"]);
}

#[test]
fn rwmutex_readers_run_together_and_writers_alone() {
    let _w = watchdog(Duration::from_secs(60), "rwmutex");
    let rw = Arc::new(RwMutex::new(0u64));
    let inside = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();
    for i in 0..16 {
        let (rw, inside) = (rw.clone(), inside.clone());
        wg.go(move || {
            for _ in 0..500 {
                if i == 0 {
                    let mut g = rw.write();
                    assert_eq!(inside.load(Ordering::SeqCst), 0, "a writer overlapped readers");
                    *g += 1;
                } else {
                    let _g = rw.read();
                    inside.fetch_add(1, Ordering::SeqCst);
                    go::runtime::gosched();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
    }
    wg.wait();
    assert_eq!(*rw.read(), 500);
    // Whether readers overlapped above depends on timing (a waiting writer
    // holds new readers back). That readers *can* share is checked without
    // timing: 15 readers each take the lock and then wait, holding it, until
    // all 15 hold it. If readers excluded each other this would never end
    // (the watchdog fails the test).
    let inside_all = WaitGroup::new();
    inside_all.add(15);
    for _ in 0..15 {
        let (rw, inside_all) = (rw.clone(), inside_all.clone());
        wg.go(move || {
            let _g = rw.read();
            inside_all.done();
            inside_all.wait();
        });
    }
    wg.wait();
}

#[test]
fn rwmutex_stress_many_writers_readers_and_threads_lose_no_wake_up() {
    let _w = watchdog(Duration::from_secs(120), "rwmutex stress");
    let rw = Arc::new(RwMutex::new((0u64, 0u64)));
    let wg = WaitGroup::new();
    for i in 0..12 {
        let rw = rw.clone();
        wg.go(move || {
            for j in 0..5_000u64 {
                if i < 4 {
                    let mut g = rw.write();
                    g.0 += 1;
                    if j.is_multiple_of(64) {
                        go::runtime::gosched();
                    }
                    g.1 += 1;
                } else {
                    let g = rw.read();
                    assert_eq!(g.0, g.1, "a reader saw a half-done write");
                }
            }
        });
    }
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let rw = rw.clone();
            std::thread::spawn(move || {
                for _ in 0..5_000 {
                    if t == 0 {
                        let mut g = rw.write();
                        g.0 += 1;
                        g.1 += 1;
                    } else {
                        let g = rw.read();
                        assert_eq!(g.0, g.1);
                    }
                }
            })
        })
        .collect();
    wg.wait();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*rw.read(), (25_000, 25_000));
}
