//! Blocking the caller, whoever it is: a goroutine parks (its worker runs
//! others), a plain thread parks its OS thread; and waking it again
//! ([`Unparker`], [`ready`]: where a woken goroutine is queued).
//!
//! Both behave like `std::thread::park`: an `unpark` that arrives before the
//! `park` makes the `park` return at once (one token), and `park` may return
//! spuriously. Every wait loop therefore re-checks its condition.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::thread::Thread;
use std::time::Instant;

use super::global::runtime;
use super::timers::Fire;
use super::worker;
use crate::coroutine::{self, GRef, Suspend, WaitReason};

/// Plain threads parked in a runtime primitive with no deadline: they wait
/// for a goroutine or another thread (deadlock detection counts them).
static OUTSIDE_PARKED: AtomicUsize = AtomicUsize::new(0);
/// Wake-ups sent to plain threads (deadlock detection's change detector).
static OUTSIDE_WAKES: AtomicUsize = AtomicUsize::new(0);

/// (plain threads parked in primitives, wake-ups sent to plain threads).
pub(super) fn outside_counts() -> (usize, usize) {
    // SeqCst pairs with the SeqCst increments in `park` and `wake`/`unpark`:
    // the deadlock check reads both before and after a pause.
    (OUTSIDE_PARKED.load(Ordering::SeqCst), OUTSIDE_WAKES.load(Ordering::SeqCst))
}

/// Wakes one blocked caller: a goroutine, an OS thread, or an async task.
#[derive(Debug, Clone)]
pub(crate) enum Unparker {
    /// A goroutine parked (or about to park) in [`park`].
    Goroutine(GRef),
    /// A plain thread parked (or about to park) in [`park`].
    Thread(Thread),
    /// An async task: a future of this runtime's primitives (a channel's
    /// `recv_async`, `JoinHandle` awaited) that returned `Pending`; waking
    /// it calls the `Waker` its last poll left.
    Task(Arc<TaskWaker>),
    /// Nobody: a value put back into a channel by a dropped receive future
    /// waits in a sender slot that no one owns.
    Nobody,
}

/// The waker of an async task waiting on a runtime primitive: each poll
/// registers its context's `Waker` *before* checking whether the wait is
/// over, and a wake-up takes it, so a wake-up between the check and the
/// `Pending` is never lost.
#[derive(Debug, Default)]
pub(crate) struct TaskWaker {
    /// The waker of the last poll, until a wake-up takes it.
    waker: parking_lot::Mutex<Option<Waker>>,
}

impl TaskWaker {
    /// A new task waker, with nothing registered.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(TaskWaker::default())
    }

    /// Registers the waker of the current poll.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Wakes the task, if a poll registered it since the last wake-up.
    pub(crate) fn wake(&self) {
        let waker = self.waker.lock().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Unparker {
    /// The unparker of the caller.
    pub(crate) fn current() -> Self {
        match coroutine::current_ref() {
            Some(g) => Unparker::Goroutine(g),
            None => Unparker::Thread(std::thread::current()),
        }
    }

    /// A `Waker` whose wake-ups are this unparker's (for code that polls a
    /// future and parks between polls: `block_on`, a `join` after a poll).
    pub(crate) fn waker(self) -> Waker {
        Waker::from(Arc::new(self))
    }

    /// Wakes the caller of the matching [`park`], or makes its next `park`
    /// return at once; by reference, so a goroutine's reference is cloned
    /// only when it has to be queued.
    pub(crate) fn wake(&self) {
        match self {
            Unparker::Goroutine(g) => {
                if g.unpark() {
                    ready(g.clone());
                }
            }
            Unparker::Thread(t) => {
                // SeqCst pairs with the load in `outside_counts`.
                OUTSIDE_WAKES.fetch_add(1, Ordering::SeqCst);
                t.unpark();
            }
            Unparker::Task(t) => t.wake(),
            Unparker::Nobody => {}
        }
    }

    /// Wakes the caller of the matching [`park`], or makes its next `park`
    /// return at once.
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Goroutine(g) => {
                if g.unpark() {
                    ready(g);
                }
            }
            Unparker::Thread(t) => {
                // SeqCst pairs with the load in `outside_counts`.
                OUTSIDE_WAKES.fetch_add(1, Ordering::SeqCst);
                t.unpark();
            }
            Unparker::Task(t) => t.wake(),
            Unparker::Nobody => {}
        }
    }
}

impl std::task::Wake for Unparker {
    fn wake(self: Arc<Self>) {
        Unparker::wake(&self);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Unparker::wake(self);
    }
}

/// Makes `g` runnable after `Goroutine::unpark` returned true.
///
/// A started goroutine goes back to its home worker: to its runnext slot when
/// called on that worker, else to its inbox (waking it). A migratable one goes
/// to the caller's worker, or the global queue.
pub(super) fn ready(g: GRef) {
    let home = g.home();
    if let Some(w) = worker::current()
        && (g.migratable() || home as usize == w.index())
    {
        w.put_runnext(g);
        return;
    }
    let rt = runtime();
    if g.migratable() || home == coroutine::NO_HOME {
        rt.inject(g);
        return;
    }
    let shared = rt.worker(home as usize).expect("a started goroutine's home worker exists");
    shared.inbox.push(g);
    rt.idle.notify_worker(shared.index, &shared.sleeper);
}

/// Blocks the caller until an [`Unparker::unpark`] (possibly one that came
/// earlier), or spuriously. `why` is what goroutine dumps and deadlock
/// detection see.
pub(crate) fn park(why: WaitReason) {
    let p = coroutine::current_ptr();
    if p.is_null() {
        let counted = why.needs_a_waker();
        // SeqCst pairs with the load in `outside_counts`.
        if counted {
            OUTSIDE_PARKED.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::park();
        if counted {
            test_hook_after_wake();
            OUTSIDE_PARKED.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    }
    // SAFETY: `p` is the goroutine running this code; its resumer keeps it
    // alive while it runs.
    let g = unsafe { &*p };
    if g.take_notification() {
        return;
    }
    g.set_wait_reason(why);
    // SAFETY: we run on `g`'s own stack.
    unsafe { g.suspend(Suspend::Park) };
}

/// For tests only: with `GO_RUNTIME_TEST_WAKE_DELAY_MS` set, a plain thread
/// woken from `park` spins (stays runnable) that long before it takes
/// itself off the count of parked threads, as a thread descheduled in that
/// window would (`tests/runtime_deadlock.rs`). Read once.
fn test_hook_after_wake() {
    static DELAY: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let delay = DELAY.get_or_init(|| {
        let ms = std::env::var("GO_RUNTIME_TEST_WAKE_DELAY_MS").ok()?.parse().ok()?;
        Some(std::time::Duration::from_millis(ms))
    });
    if let Some(d) = delay {
        let until = Instant::now() + *d;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
}

/// A deadline for one wait: the wait parks with [`Deadline::park`] (in a
/// loop that re-checks its condition and the clock) until it ends.
///
/// On a goroutine the first `park` arms one timer that wakes it at the
/// deadline. The timer holds only a weak reference to the deadline's
/// ticket, so once the wait is over (the `Deadline` dropped) the timer is
/// dead: it wakes nobody, and the heap drops it at its next sweep
/// (`timers.rs`, "Dead timers"). A loop of `recv_timeout(HOUR)` that always
/// gets its value early thus leaves no timers behind. On a plain thread it
/// is `park_timeout`.
#[derive(Debug)]
pub(crate) struct Deadline {
    /// When the wait ends.
    at: Instant,
    /// Held by the wait; `None` until the timer is armed, or for a wait
    /// that cannot end early (`for_sleep`).
    ticket: Option<Arc<()>>,
    /// Whether the timer is armed.
    armed: bool,
    /// A wait that cannot end before the deadline: its timer needs no
    /// ticket.
    certain: bool,
}

impl Deadline {
    /// A deadline for a wait that may end early (a channel timeout, a
    /// socket deadline).
    pub(crate) fn new(at: Instant) -> Self {
        Deadline { at, ticket: None, armed: false, certain: false }
    }

    /// A deadline for a wait that ends only then (`time::sleep`): its timer
    /// allocates no ticket.
    pub(crate) fn for_sleep(at: Instant) -> Self {
        Deadline { at, ticket: None, armed: false, certain: true }
    }

    /// Whether it has passed.
    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Blocks the caller until an [`Unparker::unpark`], about the deadline,
    /// or spuriously; the caller re-checks its condition and the clock.
    /// `why` is what dumps show (a timer will end the wait, so deadlock
    /// detection counts the goroutine as sleeping whatever `why` says).
    pub(crate) fn park(&mut self, why: WaitReason) {
        match coroutine::current_ref() {
            Some(g) => {
                if !self.armed {
                    self.armed = true;
                    let ticket = (!self.certain).then(|| {
                        let t = Arc::new(());
                        let weak = Arc::downgrade(&t);
                        self.ticket = Some(t);
                        weak
                    });
                    let w = worker::current().expect("a goroutine runs on a worker");
                    w.add_timer(self.at, Fire::Wake(g, ticket));
                }
                park(why);
            }
            None => {
                let now = Instant::now();
                if self.at > now {
                    std::thread::park_timeout(self.at - now);
                }
            }
        }
    }
}

/// Lets other goroutines run; the caller stays runnable (Go's `Gosched`).
pub(crate) fn yield_now() {
    let p = coroutine::current_ptr();
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
    use crate::coroutine::WaitReason;

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
                park(WaitReason::ChanReceive);
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
