//! Blocking the caller, whoever it is: a goroutine parks (its worker runs
//! others), a plain thread parks its OS thread.
//!
//! Both behave like `std::thread::park`: an `unpark` that arrives before the
//! `park` makes the `park` return at once (one token), and `park` may return
//! spuriously. Every wait loop therefore re-checks its condition.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::Instant;

use crate::coroutine::{GRef, Suspend};
use crate::scheduler::{self, worker};
use crate::time::timers::Fire;

/// Why a goroutine (or thread) is parked: the state Go's goroutine dumps
/// print (GO_SEMANTICS 59), and whether deadlock detection may count it as
/// stuck for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not parked (running or runnable).
    None = 0,
    /// A channel receive.
    ChanReceive,
    /// A channel send.
    ChanSend,
    /// A receive from a nil channel: never completes.
    ChanReceiveNil,
    /// A send to a nil channel: never completes.
    ChanSendNil,
    /// A `select` with at least one channel case.
    Select,
    /// `select {}`, or a select over nil channels only.
    SelectNoCases,
    /// `Mutex::lock`.
    SyncMutexLock,
    /// `RwMutex::write`.
    SyncRwMutexLock,
    /// `RwMutex::read`.
    SyncRwMutexRLock,
    /// `WaitGroup::wait`.
    SyncWaitGroupWait,
    /// `Cond::wait`.
    SyncCondWait,
    /// `Semaphore::acquire`, `Once` (Go's `semacquire`).
    Semacquire,
    /// `JoinHandle::join` (waiting for another goroutine to finish).
    Join,
    /// `time::sleep`, or any wait with a deadline (a timer will wake it).
    Sleep,
    /// `runtime::blocking`: a helper thread is running its call.
    Syscall,
    /// A socket operation waiting for the network (Go's `IO wait`).
    IoWait,
}

impl WaitReason {
    const ALL: [WaitReason; 17] = [
        WaitReason::None,
        WaitReason::ChanReceive,
        WaitReason::ChanSend,
        WaitReason::ChanReceiveNil,
        WaitReason::ChanSendNil,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::SyncMutexLock,
        WaitReason::SyncRwMutexLock,
        WaitReason::SyncRwMutexRLock,
        WaitReason::SyncWaitGroupWait,
        WaitReason::SyncCondWait,
        WaitReason::Semacquire,
        WaitReason::Join,
        WaitReason::Sleep,
        WaitReason::Syscall,
        WaitReason::IoWait,
    ];

    /// Go's name for the state, as in `goroutine 1 [chan receive]:`.
    ///
    /// # Example
    /// ```
    /// use go::runtime::WaitReason;
    /// assert_eq!(WaitReason::ChanReceive.as_str(), "chan receive");
    /// assert_eq!(WaitReason::SyncMutexLock.as_str(), "sync.Mutex.Lock");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "runnable",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNil => "chan receive (nil chan)",
            WaitReason::ChanSendNil => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRwMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncRwMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::Semacquire => "semacquire",
            WaitReason::Join => "join",
            WaitReason::Sleep => "sleep",
            WaitReason::Syscall => "syscall",
            WaitReason::IoWait => "IO wait",
        }
    }

    /// Whether only another goroutine or thread can end the wait (no timer,
    /// no helper thread will): the waits deadlock detection counts.
    pub(crate) fn needs_a_waker(self) -> bool {
        !matches!(
            self,
            WaitReason::None | WaitReason::Sleep | WaitReason::Syscall | WaitReason::IoWait
        )
    }

    pub(crate) fn from_u8(v: u8) -> WaitReason {
        WaitReason::ALL.get(usize::from(v)).copied().unwrap_or(WaitReason::None)
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Plain threads parked in a runtime primitive with no deadline: they wait
/// for a goroutine or another thread (deadlock detection counts them).
static OUTSIDE_PARKED: AtomicUsize = AtomicUsize::new(0);
/// Wake-ups sent to plain threads (deadlock detection's change detector).
static OUTSIDE_WAKES: AtomicUsize = AtomicUsize::new(0);

/// (plain threads parked in primitives, wake-ups sent to plain threads).
pub(crate) fn outside_counts() -> (usize, usize) {
    (OUTSIDE_PARKED.load(Ordering::SeqCst), OUTSIDE_WAKES.load(Ordering::SeqCst))
}

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
            Unparker::Thread(t) => {
                OUTSIDE_WAKES.fetch_add(1, Ordering::SeqCst);
                t.unpark();
            }
        }
    }
}

/// Blocks the caller until an [`Unparker::unpark`] (possibly one that came
/// earlier), or spuriously. `why` is what goroutine dumps and deadlock
/// detection see.
pub(crate) fn park(why: WaitReason) {
    let p = worker::current_goroutine();
    if p.is_null() {
        let counted = why.needs_a_waker();
        if counted {
            OUTSIDE_PARKED.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::park();
        if counted {
            OUTSIDE_PARKED.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    }
    // SAFETY: `p` is the goroutine running this code; its worker keeps it
    // alive while it runs.
    let g = unsafe { &*p };
    if g.take_notification() {
        return;
    }
    g.set_wait_reason(why);
    // SAFETY: we run on `g`'s own stack.
    unsafe { g.suspend(Suspend::Park) };
}

/// Blocks the caller until an [`Unparker::unpark`], until about `deadline`,
/// or spuriously; the caller re-checks both its condition and the clock.
/// A timer will end the wait, so the goroutine counts as sleeping.
///
/// On a goroutine each call adds a timer that wakes it at `deadline`; a timer
/// left from an earlier call that returned early fires later as a harmless
/// spurious wake-up.
pub(crate) fn park_until(deadline: Instant) {
    park_until_as(deadline, WaitReason::Sleep);
}

/// [`park_until`] with another reason for dumps.
pub(crate) fn park_until_as(deadline: Instant, why: WaitReason) {
    match worker::current_gref() {
        Some(g) => {
            let w = worker::current().expect("a goroutine runs on a worker");
            w.add_timer(deadline, Fire::Wake(g));
            park(why);
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
                park(super::WaitReason::ChanReceive);
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
