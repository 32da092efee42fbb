//! Soundness first (docs/design.md): a started goroutine resumes only on its home
//! thread, so a `thread_local!` reference held across blocking calls stays
//! valid. Unstarted goroutines still spread over the workers.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::watchdog;
use go::sync::WaitGroup;

thread_local! {
    static SLOT: Cell<u64> = const { Cell::new(0) };
}

#[test]
fn thread_local_reference_survives_1000_blocking_calls_on_home_thread() {
    let _w = watchdog(Duration::from_secs(120), "thread-local soundness");
    let holders: Vec<_> = (0..8u64)
        .map(|n| {
            go::spawn(move || {
                let home = std::thread::current().id();
                SLOT.with(|slot| {
                    // `slot` is a reference into this thread's storage, held
                    // across every blocking call below.
                    slot.set(n);
                    let mut moved = 0;
                    for i in 0..1000u32 {
                        match i % 4 {
                            0 => go::runtime::gosched(),
                            1 => go::time::sleep(Duration::from_micros(50)),
                            2 => go::spawn(move || i).join().map(|_| ()).unwrap(),
                            _ => {
                                let wg = WaitGroup::new();
                                wg.go(go::runtime::gosched);
                                wg.wait();
                            }
                        }
                        if std::thread::current().id() != home {
                            moved += 1;
                        }
                        // Other goroutines on this thread may have written
                        // the slot, but it is still this thread's slot.
                        slot.set(n);
                    }
                    moved
                })
            })
        })
        .collect();
    // Noise: goroutines that block threads, so workers go idle and steal.
    let noise: Vec<_> =
        (0..200).map(|_| go::spawn(|| std::thread::sleep(Duration::from_micros(200)))).collect();
    for h in noise {
        h.join().unwrap();
    }
    for h in holders {
        assert_eq!(h.join().unwrap(), 0, "a started goroutine resumed on another thread");
    }
}

#[test]
fn migratable_goroutines_move_between_workers_and_lose_nothing() {
    // The `unsafe` opt-in: started goroutines may resume on another worker.
    const NAME: &str = "migratable_goroutines_move_between_workers_and_lose_nothing";
    if common::is_child(NAME) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let moves = Arc::new(AtomicU64::new(0));
        let sum = Arc::new(AtomicU64::new(0));
        let hs: Vec<_> = (0..64u64)
            .map(|n| {
                let (moves, sum) = (moves.clone(), sum.clone());
                // SAFETY: the body holds nothing thread-bound across its
                // blocking calls (only integers and `Arc`s).
                let b = unsafe { go::Builder::new().migratable() };
                b.spawn(move || {
                    let mut last = std::thread::current().id();
                    for i in 0..200u64 {
                        if i % 2 == 0 {
                            go::runtime::gosched();
                        } else {
                            go::time::sleep(Duration::from_micros(20));
                        }
                        let now = std::thread::current().id();
                        if now != last {
                            moves.fetch_add(1, Ordering::Relaxed);
                            last = now;
                        }
                        sum.fetch_add(n, Ordering::Relaxed);
                    }
                })
                .unwrap()
            })
            .collect();
        // Noise that blocks worker threads, so the others go looking.
        let noise: Vec<_> = (0..100)
            .map(|_| go::spawn(|| std::thread::sleep(Duration::from_micros(300))))
            .collect();
        for h in hs.into_iter().chain(noise) {
            h.join().unwrap();
        }
        assert_eq!(sum.load(Ordering::Relaxed), 200 * (0..64u64).sum::<u64>());
        println!("moves={}", moves.load(Ordering::Relaxed));
        return;
    }
    let out = common::run_child(NAME, &[("GOMAXPROCS", "2")]);
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let moves = common::reported(&stdout, "moves", &stderr);
    assert!(moves > 0, "migratable goroutines never changed threads");
}

#[test]
fn enable_migration_applies_to_later_spawns() {
    const NAME: &str = "enable_migration_applies_to_later_spawns";
    if common::is_child(NAME) {
        // SAFETY: nothing spawned in this process holds thread-bound values
        // across blocking calls.
        unsafe { go::runtime::enable_migration() };
        let wg = WaitGroup::new();
        let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        for _ in 0..1000 {
            let t = total.clone();
            wg.go(move || {
                go::time::sleep(Duration::from_micros(100));
                go::runtime::gosched();
                t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
        wg.wait();
        println!("total={}", total.load(std::sync::atomic::Ordering::Relaxed));
        return;
    }
    let out = common::run_child(NAME, &[]);
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success() && stdout.contains("total=1000"), "stderr: {stderr}");
}

/// A parked goroutine's stack stays in place and live: goroutines and
/// threads that borrow its locals (`waitgroup!`, `std::thread::scope`) keep
/// reading and writing them while it sleeps. Copying a long-parked stack
/// aside to give its page back, as Go's stack shrinking moves stacks, would
/// hand them a zeroed page and drop their writes when the copy came back
/// (scheduler README, "Rows still behind": why parked memory stays a page).
#[test]
fn borrowers_of_a_sleeping_goroutines_locals_see_them_live() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const STEP: u64 = 1 << 20;
    let _w = watchdog(Duration::from_secs(60), "borrowed locals of a sleeper");
    go::run(|| {
        for _ in 0..10 {
            // 4 KiB of the sleeper's stack, each cell `i + k * STEP`.
            let cells: [AtomicU64; 512] = std::array::from_fn(|i| AtomicU64::new(i as u64));
            let stop = AtomicBool::new(false);
            let writes = AtomicU64::new(0);
            let borrow = |first: usize| {
                let mut n = 0;
                // Acquire pairs with the Release store of `stop` below.
                while !stop.load(Ordering::Acquire) {
                    for (i, c) in cells.iter().enumerate().skip(first).step_by(3) {
                        let v = c.load(Ordering::Relaxed);
                        assert_eq!(v % STEP, i as u64, "cell {i} lost its value");
                        c.store(v + STEP, Ordering::Relaxed);
                        n += 1;
                    }
                    go::runtime::gosched();
                }
                writes.fetch_add(n, Ordering::Relaxed);
            };
            std::thread::scope(|s| {
                s.spawn(|| borrow(2));
                go::waitgroup! {
                    go borrow(0);
                    go borrow(1);
                    go::time::sleep(Duration::from_millis(30));
                    // Release pairs with the borrowers' Acquire loads.
                    stop.store(true, Ordering::Release);
                }
            });
            let total: u64 = cells.iter().map(|c| c.load(Ordering::Relaxed) / STEP).sum();
            assert_eq!(total, writes.load(Ordering::Relaxed), "a write to the stack was lost");
            assert!(total > 0);
        }
    });
}

#[test]
fn a_migratable_goroutine_finishes_unwinding_on_the_thread_it_began() {
    // std counts panics in progress per thread. A migratable goroutine
    // whose `Drop` blocked while it unwound could resume on another
    // worker and finish there: one thread's count stayed raised and the
    // other's went below zero (wrapping), so `std::thread::panicking()`
    // read true on both for good, and every std `MutexGuard` dropped there
    // poisoned its mutex. A goroutine that blocks while unwinding now stays
    // on its thread until it is done.
    const NAME: &str = "a_migratable_goroutine_finishes_unwinding_on_the_thread_it_began";
    if common::is_child(NAME) {
        let _w = watchdog(Duration::from_secs(60), "unwinding goroutines");
        struct WaitOnDrop(go::chan::Chan<()>);
        impl Drop for WaitOnDrop {
            fn drop(&mut self) {
                self.0.recv();
            }
        }
        let moved = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        for _ in 0..20 {
            let ch = go::chan::Chan::<()>::new(0);
            let guard = WaitOnDrop(ch.clone());
            let moved = moved.clone();
            // SAFETY: the goroutine holds nothing thread-bound across its
            // blocking call (a channel).
            let b = unsafe { go::Builder::new().migratable() };
            let h = b
                .spawn(move || {
                    // Dropped after `_guard`, once the wait is over.
                    let _report = ReportThread(std::thread::current().id(), moved);
                    let _guard = guard;
                    panic!("unwinding on purpose");
                })
                .unwrap();
            std::thread::sleep(Duration::from_millis(2));
            // From a plain thread: a migratable goroutine woken here goes
            // to the global queue, where either worker may take it.
            ch.send(());
            assert!(h.join().is_err());
        }
        let moved = moved.load(std::sync::atomic::Ordering::SeqCst);
        // Every worker thread's count is back to zero.
        let seen: Vec<bool> = (0..200)
            .map(|_| go::spawn(std::thread::panicking))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        println!("moved={moved}");
        println!("panicking-seen={}", seen.iter().filter(|&&p| p).count());
        return;
    }
    let out = common::run_child(NAME, &[("GOMAXPROCS", "2")]);
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(common::reported(&stdout, "moved", &stderr), 0, "finished unwinding elsewhere");
    assert_eq!(common::reported(&stdout, "panicking-seen", &stderr), 0);
}

/// Dropped last while its goroutine unwinds: counts the goroutines that
/// ended on another thread than the one they began on.
struct ReportThread(std::thread::ThreadId, std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Drop for ReportThread {
    fn drop(&mut self) {
        if std::thread::current().id() != self.0 {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
