//! Go's `time` package: sleeping parks the goroutine on its worker's timer
//! heap, never the OS thread.
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

pub(crate) mod timers;

use std::time::{Duration, Instant};

use crate::park;
use crate::scheduler::worker;

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
/// sleeps. A zero duration returns at once (GO_SEMANTICS 51).
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
        return;
    }
    let Some(g) = worker::current_gref() else {
        std::thread::sleep(d);
        return;
    };
    // A deadline past the end of `Instant` never comes: sleep forever.
    let deadline = Instant::now().checked_add(d);
    if let Some(deadline) = deadline {
        let w = worker::current().expect("a goroutine runs on a worker");
        w.timers.borrow_mut().add(deadline, g);
    } else {
        drop(g);
    }
    loop {
        park::park();
        if deadline.is_some_and(|t| Instant::now() >= t) {
            return;
        }
    }
}
