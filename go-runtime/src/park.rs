//! Blocking the caller, whoever it is: a goroutine parks (its worker runs
//! others), a plain thread parks its OS thread.
//!
//! Both behave like `std::thread::park`: an `unpark` that arrives before the
//! `park` makes the `park` return at once (one token), and `park` may return
//! spuriously. Every wait loop therefore re-checks its condition.

use std::thread::Thread;
use std::time::Instant;

use crate::coroutine::{GRef, Suspend};
use crate::scheduler::{self, worker};
use crate::time::timers::Fire;

/// Wakes one blocked caller: a goroutine or an OS thread.
#[derive(Debug, Clone)]
pub(crate) enum Unparker {
    /// A goroutine parked (or about to park) in [`park`].
    Goroutine(GRef),
    /// A plain thread parked (or about to park) in [`park`].
    Thread(Thread),
}

impl Unparker {
    /// The unparker of the caller.
    pub(crate) fn current() -> Self {
        match worker::current_gref() {
            Some(g) => Unparker::Goroutine(g),
            None => Unparker::Thread(std::thread::current()),
        }
    }

    /// Wakes the caller of the matching [`park`], or makes its next `park`
    /// return at once.
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Goroutine(g) => {
                if g.unpark() {
                    scheduler::ready(g);
                }
            }
            Unparker::Thread(t) => t.unpark(),
        }
    }
}

/// Blocks the caller until an [`Unparker::unpark`] (possibly one that came
/// earlier), or spuriously.
pub(crate) fn park() {
    let p = worker::current_goroutine();
    if p.is_null() {
        std::thread::park();
        return;
    }
    // SAFETY: `p` is the goroutine running this code; its worker keeps it
    // alive while it runs.
    let g = unsafe { &*p };
    if g.take_notification() {
        return;
    }
    // SAFETY: we run on `g`'s own stack.
    unsafe { g.suspend(Suspend::Park) };
}

/// Blocks the caller until an [`Unparker::unpark`], until about `deadline`,
/// or spuriously; the caller re-checks both its condition and the clock.
///
/// On a goroutine each call adds a timer that wakes it at `deadline`; a timer
/// left from an earlier call that returned early fires later as a harmless
/// spurious wake-up.
pub(crate) fn park_until(deadline: Instant) {
    match worker::current_gref() {
        Some(g) => {
            let w = worker::current().expect("a goroutine runs on a worker");
            w.timers.borrow_mut().add(deadline, Fire::Wake(g));
            park();
        }
        None => {
            let now = Instant::now();
            if deadline > now {
                std::thread::park_timeout(deadline - now);
            }
        }
    }
}

/// Lets other goroutines run; the caller stays runnable (Go's `Gosched`).
pub(crate) fn yield_now() {
    let p = worker::current_goroutine();
    if p.is_null() {
        std::thread::yield_now();
        return;
    }
    // SAFETY: as in `park`.
    unsafe { (*p).suspend(Suspend::Yield) };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use parking_lot::Mutex;

    use super::{Unparker, park};

    /// A one-shot flag a goroutine or thread can wait on.
    #[derive(Default)]
    struct Signal {
        set: AtomicBool,
        waiter: Mutex<Option<Unparker>>,
    }

    impl Signal {
        fn wait(&self) {
            loop {
                if self.set.swap(false, Ordering::AcqRel) {
                    return;
                }
                *self.waiter.lock() = Some(Unparker::current());
                if self.set.swap(false, Ordering::AcqRel) {
                    return;
                }
                park();
            }
        }

        fn notify(&self) {
            self.set.store(true, Ordering::Release);
            if let Some(u) = self.waiter.lock().take() {
                u.unpark();
            }
        }
    }

    /// Fails the test process instead of hanging on a lost wake-up.
    fn watchdog(limit: Duration) -> Arc<AtomicBool> {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < limit {
                if d.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            eprintln!("watchdog: park/wake ping-pong stuck: lost wake-up");
            std::process::exit(101);
        });
        done
    }

    fn ping_pong(rounds: u32, b_on_thread: bool) {
        let ping = Arc::new(Signal::default());
        let pong = Arc::new(Signal::default());
        let (p, q) = (ping.clone(), pong.clone());
        let responder = move || {
            for _ in 0..rounds {
                p.wait();
                q.notify();
            }
        };
        let (p, q) = (ping, pong);
        let initiator = move || {
            for _ in 0..rounds {
                p.notify();
                q.wait();
            }
        };
        let a = crate::spawn(initiator);
        if b_on_thread {
            std::thread::spawn(responder).join().unwrap();
        } else {
            crate::spawn(responder).join().unwrap();
        }
        a.join().unwrap();
    }

    #[test]
    fn a_million_park_wake_cycles_lose_no_wake_up() {
        let done = watchdog(Duration::from_secs(120));
        // 2 x 400,000 cycles between goroutines (same or different workers,
        // as the scheduler places them) ...
        ping_pong(400_000, false);
        // ... and 2 x 100,000 between a goroutine and a plain thread.
        ping_pong(100_000, true);
        done.store(true, Ordering::Release);
    }
}
