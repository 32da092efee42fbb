//! Go's `time` package: sleeping parks the goroutine on its worker's timer
//! heap, never the OS thread.
//!
//! Design note: `README.md` beside this file (where timers live, the firing
//! protocol, what a timer costs).
//!
//! Durations port with Go's constants: `time.Sleep(500 * time.Millisecond)`
//! is `time::sleep(500 * time::MILLISECOND)`.
//!
//! ```
//! use go::time;
//!
//! assert_eq!(500 * time::MILLISECOND, std::time::Duration::from_millis(500));
//! assert_eq!(time::MINUTE, 60 * time::SECOND);
//! ```

mod timer;

pub use self::timer::{Ticker, Timer, after_func, tick};

use std::time::{Duration, Instant};

use crate::chan::{Chan, Receiver, WeakChan};
use crate::coroutine::{self, WaitReason};
use crate::scheduler::{self, Callback, Deadline};
use crate::spawn::spawn;

/// One nanosecond (Go's `time.Nanosecond`).
pub const NANOSECOND: Duration = Duration::from_nanos(1);
/// One microsecond (Go's `time.Microsecond`).
pub const MICROSECOND: Duration = Duration::from_micros(1);
/// One millisecond (Go's `time.Millisecond`).
pub const MILLISECOND: Duration = Duration::from_millis(1);
/// One second (Go's `time.Second`).
pub const SECOND: Duration = Duration::from_secs(1);
/// One minute (Go's `time.Minute`).
pub const MINUTE: Duration = Duration::from_secs(60);
/// One hour (Go's `time.Hour`).
pub const HOUR: Duration = Duration::from_secs(3600);

/// Pauses the calling goroutine for at least `d` (Go's `time.Sleep`).
///
/// On a goroutine only the goroutine waits: its worker runs others, and a
/// million goroutines can sleep at once. On a plain thread the thread
/// sleeps. A zero duration returns at once (docs/go-semantics.md, 51).
///
/// # Example
/// ```
/// use go::time;
///
/// let start = std::time::Instant::now();
/// let h = go::spawn(|| time::sleep(20 * time::MILLISECOND));
/// h.join().unwrap();
/// assert!(start.elapsed() >= 20 * time::MILLISECOND);
/// ```
pub fn sleep(d: Duration) {
    if d.is_zero() {
        // Go's `Sleep(0)` returns at once; a loop of them must still let
        // a goroutine that is asked to yield do so. A positive sleep parks,
        // which is a switch already: checking first would let a request
        // meant for the goroutine before this one send a sleeper to the
        // back of the queue, behind the busy goroutines it wants to tick
        // between (seen in a trace as a 30 ms gap in the fairness row).
        crate::scheduler::checkpoint();
        return;
    }
    if !coroutine::on_goroutine() {
        std::thread::sleep(d);
        return;
    }
    match Instant::now().checked_add(d) {
        Some(deadline) => {
            let mut deadline = Deadline::for_sleep(deadline);
            while !deadline.passed() {
                deadline.park(WaitReason::Sleep);
            }
        }
        // A deadline past the end of `Instant` never comes: sleep forever.
        None => loop {
            scheduler::park(WaitReason::Sleep);
        },
    }
}

/// A channel that receives the current time once, after `d` (Go's
/// `time.After`): the way a [`Select`](crate::chan::Select) or `select!`
/// times out.
///
/// The channel has room for the one value, so the timer never blocks; if
/// nobody receives, the value and channel are freed when the last
/// [`Receiver`] is dropped (Go 1.23+ semantics, docs/go-semantics.md, 57). On a
/// goroutine the timer lives in its worker's timer heap (no goroutine is
/// spawned for it); from a plain thread a goroutine sleeps for it.
///
/// # Example
/// ```
/// use go::chan::{Chan, Select};
/// use go::time;
///
/// let never = Chan::<u8>::new(0);
/// let timeout = time::after(10 * time::MILLISECOND);
/// let r = Select::new().recv(&never, |_| "value").recv(&timeout, |_| "timed out").wait();
/// assert_eq!(r, "timed out");
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    let ch = Chan::new(1);
    call_at_inline(Instant::now().checked_add(d), SendNow(ch.downgrade()));
    ch.receiver()
}

/// `after`'s timer: puts the time in its channel. It holds the channel
/// weakly, so that a `Receiver` nobody holds any more frees the channel at
/// once, and the timer is then dead (Go 1.23): a `select!` with a
/// `time::after(HOUR)` case in a loop leaves nothing behind.
struct SendNow(WeakChan<Instant>);

impl Callback for SendNow {
    fn call(self: Box<Self>) {
        if let Some(ch) = self.0.upgrade() {
            // The buffer has room for this one value: it never blocks.
            let _ = ch.try_send(Instant::now());
        }
    }

    fn is_live(&self) -> bool {
        self.0.is_held()
    }
}

/// Runs `f` at `deadline` (never, for `None`), in a goroutine of its own:
/// the timer only spawns it. So `f`, and every `Drop` it sets off (a
/// context tree freed by its deadline, a user value inside it), runs on a
/// goroutine's stack, never on the worker's: a panic there is a goroutine's
/// panic, reported like Go's, and a blocking call parks only that goroutine
/// (design.md, "User code never runs on the scheduler's stack").
pub(crate) fn call_at(deadline: Option<Instant>, f: impl FnOnce() + Send + 'static) {
    call_at_inline(deadline, move || {
        spawn(f);
    });
}

/// Runs `f` at `deadline` (never, for `None`): on a goroutine, from its
/// worker's timer heap, on the worker's own stack; so `f` must be short,
/// must not block, and must run no user code and drop no user value
/// (`after`'s send of the time; `call_at` wraps everything else in a
/// goroutine). A dead `f` is dropped unrun. Off the runtime, from a
/// goroutine that sleeps until then.
fn call_at_inline(deadline: Option<Instant>, f: impl Callback + 'static) {
    let Some(t) = deadline else { return };
    if coroutine::on_goroutine() {
        scheduler::add_timer(t, Box::new(f));
        // Arming a timer is a runtime call: a goroutine asked to yield
        // does so here (a timer fired from the heap is no goroutine).
        scheduler::checkpoint();
    } else {
        spawn(move || {
            sleep(t.saturating_duration_since(Instant::now()));
            Box::new(f).call();
        });
    }
}
