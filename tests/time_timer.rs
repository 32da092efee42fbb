//! Timers and tickers with Go 1.23+ semantics (docs/go-semantics.md, 51-57).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use go::chan::Select;
use go::time::{self, Ticker, Timer, after_func, tick};

const MS: Duration = time::MILLISECOND;

#[test]
fn item_51_zero_after_fires_at_once() {
    let t = Instant::now();
    assert!(time::after(Duration::ZERO).recv().is_some());
    let t2 = Timer::new(Duration::ZERO);
    assert!(t2.c.recv().is_some());
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn item_52_a_timer_delivers_its_fire_time_once() {
    for on_goroutine in [false, true] {
        let body = || {
            let start = Instant::now();
            let t = Timer::new(10 * MS);
            let at = t.c.recv().unwrap();
            assert!(at >= start + 10 * MS);
            assert!(t.c.recv_timeout(30 * MS).is_err(), "a second value");
        };
        if on_goroutine { go::spawn(body).join().unwrap() } else { body() }
    }
}

#[test]
fn item_53_stop_and_reset_leave_no_stale_value() {
    go::spawn(|| {
        // Stop before firing: true, nothing arrives.
        let t = Timer::new(10 * MS);
        assert!(t.stop());
        assert!(t.c.recv_timeout(30 * MS).is_err());
        assert!(!t.stop(), "already stopped");
        // Fired but not received: Stop is true and drops the value.
        let t = Timer::new(MS);
        time::sleep(10 * MS);
        assert!(t.stop(), "expired but unreceived counts as pending");
        assert!(t.c.try_recv().is_err(), "no stale value after Stop");
        // Received: Stop and Reset are false.
        let t = Timer::new(MS);
        t.c.recv().unwrap();
        assert!(!t.stop());
        assert!(!t.reset(5 * MS));
        assert!(t.c.recv_timeout(Duration::from_secs(5)).is_ok(), "reset re-arms");
        // Reset of an expired unreceived timer: true, and only the new value comes.
        let t = Timer::new(MS);
        time::sleep(10 * MS);
        let before = Instant::now();
        assert!(t.reset(20 * MS));
        let at = t.c.recv().unwrap();
        assert!(at >= before + 20 * MS, "the stale value was delivered");
    })
    .join()
    .unwrap();
}

#[test]
fn item_54_after_func_runs_in_its_own_goroutine_and_stop_prevents_it() {
    let runs = Arc::new(AtomicU32::new(0));
    let (r, main_id) = (runs.clone(), go::runtime::goroutine_id());
    let ids = Arc::new(go::sync::Mutex::new(Vec::new()));
    let ids2 = ids.clone();
    let t = after_func(5 * MS, move || {
        r.fetch_add(1, Ordering::SeqCst);
        ids2.lock().push(go::runtime::goroutine_id());
    });
    assert!(t.c.try_recv().is_err(), "an AfterFunc timer's channel is nil");
    time::sleep(30 * MS);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(ids.lock()[0].is_some() && ids.lock()[0] != main_id);
    assert!(!t.stop(), "f already started");
    let r = runs.clone();
    let t = after_func(20 * MS, move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(t.stop(), "f had not started");
    time::sleep(40 * MS);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn item_55_tickers_reject_zero_and_tick_of_zero_is_nil() {
    let err = std::panic::catch_unwind(|| Ticker::new(Duration::ZERO)).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"non-positive interval for NewTicker"));
    let nil = tick(Duration::ZERO);
    assert!(nil.recv_timeout(10 * MS).is_err());
}

#[test]
fn item_56_ticker_keeps_one_pending_tick_stops_and_resets() {
    go::spawn(|| {
        let t = Ticker::new(2 * MS);
        // A slow reader: many periods pass, at most one tick waits.
        time::sleep(30 * MS);
        assert!(t.c.len() <= 1);
        t.c.recv().unwrap();
        // Ticks keep coming at about the period.
        let start = Instant::now();
        for _ in 0..5 {
            t.c.recv().unwrap();
        }
        assert!(start.elapsed() < 200 * MS, "{:?}", start.elapsed());
        // No tick after Stop.
        t.stop();
        assert!(t.c.recv_timeout(20 * MS).is_err());
        // Reset changes the period and restarts.
        t.reset(5 * MS);
        let start = Instant::now();
        t.c.recv().unwrap();
        t.c.recv().unwrap();
        assert!(start.elapsed() >= 9 * MS);
    })
    .join()
    .unwrap();
}

#[test]
fn item_57_unreferenced_tick_channels_stop() {
    // A `tick` whose receiver is dropped stops re-arming; the runtime keeps
    // working and the other ticker is unaffected.
    let kept = tick(MS);
    for _ in 0..10 {
        drop(tick(MS));
    }
    for _ in 0..5 {
        kept.recv().unwrap();
    }
}

#[test]
fn timers_from_threads_and_goroutines_in_a_select() {
    let never = go::chan::Chan::<u8>::new(0);
    let t = Timer::new(10 * MS);
    let r = Select::new().recv(&never, |_| "value").recv(&t.c, |_| "timer").wait();
    assert_eq!(r, "timer");
    let h = go::spawn(move || {
        let t = Timer::new(10 * MS);
        Select::new().recv(&never, |_| "value").recv(&t.c, |_| "timer").wait()
    });
    assert_eq!(h.join().unwrap(), "timer");
}

#[test]
fn many_timers_scale() {
    // 100,000 goroutines each waiting on its own 10 ms timer finish in well
    // under a second.
    let _w = common::watchdog(Duration::from_secs(60), "100k timers");
    let start = Instant::now();
    let wg = go::sync::WaitGroup::new();
    for _ in 0..100_000 {
        wg.go(|| {
            Timer::new(10 * MS).c.recv().unwrap();
        });
    }
    wg.wait();
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// How many times the loops below run.
const ROUNDS: u64 = 1_000_000;

/// Go 1.23 frees a timer nobody can receive from at once: a `select!` with
/// a `time::after(HOUR)` case that never wins, in a loop, must not keep a
/// million hour-long timers (266 MB before), nor should a million
/// `recv_timeout(HOUR)`s that are answered early, nor a million resets of
/// one `Timer` or `Ticker`.
#[test]
fn unreferenced_timers_are_freed_at_once() {
    const NAME: &str = "unreferenced_timers_are_freed_at_once";
    if !common::is_child(NAME) {
        let out = common::run_child(NAME, &[]);
        let (stdout, stderr) = common::texts(&out);
        assert!(out.status.success(), "{stderr}");
        for line in stdout.lines().filter(|l| l.contains("grew")) {
            let kib: u64 = line.rsplit(' ').nth(1).unwrap().parse().unwrap();
            assert!(kib < 16 << 10, "{line}");
        }
        assert_eq!(stdout.matches("grew").count(), 5, "{stdout}");
        return;
    }
    let _w = common::watchdog(Duration::from_secs(300), "a million unreferenced timers");
    go::run(|| {
        let ch = go::chan::Chan::<u64>::new(1);
        let before = rss_kib();
        for i in 0..ROUNDS {
            ch.send(i);
            go::select! {
                case v := <-ch => assert_eq!(v, i),
                case <-time::after(time::HOUR) => unreachable!("an hour passed"),
            }
        }
        println!("select with after: grew {} KiB", rss_kib().saturating_sub(before));

        let (ping, pong) = (go::chan::Chan::<u64>::new(0), go::chan::Chan::<u64>::new(0));
        let (p2, q2) = (ping.clone(), pong.clone());
        let echo = go::spawn(move || {
            while let Ok(v) = p2.recv_timeout(time::HOUR) {
                q2.send(v);
            }
        });
        let before = rss_kib();
        for i in 0..ROUNDS {
            ping.send(i);
            assert_eq!(pong.recv_timeout(time::HOUR).unwrap(), i);
        }
        ping.close();
        echo.join().unwrap();
        println!("recv_timeout: grew {} KiB", rss_kib().saturating_sub(before));

        // An idle timeout pushed back at every message: each reset armed a
        // new firing and the old ones stayed in the heap until their
        // deadlines (about 80 MB here before).
        let t = time::Timer::new(time::HOUR);
        let before = rss_kib();
        for _ in 0..ROUNDS {
            assert!(t.reset(time::HOUR));
        }
        println!("Timer::reset: grew {} KiB", rss_kib().saturating_sub(before));
        let ticker = time::Ticker::new(time::HOUR);
        let before = rss_kib();
        for _ in 0..ROUNDS {
            ticker.reset(time::HOUR);
        }
        println!("Ticker::reset: grew {} KiB", rss_kib().saturating_sub(before));
        let f = time::after_func(time::HOUR, || unreachable!("an hour passed"));
        let before = rss_kib();
        for _ in 0..ROUNDS {
            assert!(f.reset(time::HOUR));
        }
        println!("after_func reset: grew {} KiB", rss_kib().saturating_sub(before));
    });
}
