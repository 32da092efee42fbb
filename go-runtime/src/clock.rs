//! The runtime's coarse clock: milliseconds since the runtime started,
//! advanced by the workers as they schedule. Reading it costs one relaxed
//! load; it is a hint, used for "blocked for" in goroutine dumps and for
//! sysmon's "nobody polled the network lately".
//!
//! A leaf: it imports nothing from the crate.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Milliseconds since [`epoch`], as last advanced.
static COARSE_MS: AtomicU64 = AtomicU64::new(0);

/// When the coarse clock started.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The coarse clock as last advanced (it may lag by one scheduling round).
pub(crate) fn coarse_millis() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

/// Advances the coarse clock to `now` (never backwards).
pub(crate) fn tick(now: Instant) {
    let ms = u64::try_from(now.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX);
    COARSE_MS.fetch_max(ms, Ordering::Relaxed);
}

/// The coarse clock advanced to now and read.
pub(crate) fn coarse_now() -> u64 {
    tick(Instant::now());
    coarse_millis()
}
