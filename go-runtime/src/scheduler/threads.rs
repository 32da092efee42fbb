//! The OS threads the runtime runs besides its workers, counted so that the
//! deadlock check can tell them from threads the program started (which
//! might still wake a goroutine: `deadlock.rs`, condition 3).
//!
//! - *Runtime threads* live for the whole process: sysmon and the SIGQUIT
//!   watcher.
//! - *Helper threads* run `runtime::blocking` calls; they come and go, and
//!   each one holds a [`HelperThread`] for its whole life.
//!
//! The counts are read with the thread list of `/proc/self/task`, twice,
//! 5 ms apart (`deadlock.rs`, condition 4), so they need no ordering with
//! anything else: Relaxed.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runtime threads started (they never exit).
static RUNTIME_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Helper threads alive.
static HELPERS_ALIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts a runtime thread about to start (call before starting it, so
/// that the thread is never seen uncounted).
pub(super) fn count_runtime_thread() {
    RUNTIME_THREADS.fetch_add(1, Ordering::Relaxed);
}

/// Takes back [`count_runtime_thread`] for a thread that failed to start.
pub(super) fn uncount_runtime_thread() {
    RUNTIME_THREADS.fetch_sub(1, Ordering::Relaxed);
}

/// Runtime threads started.
pub(super) fn runtime_threads() -> usize {
    RUNTIME_THREADS.load(Ordering::Relaxed)
}

/// Helper threads alive.
pub(super) fn helpers_alive() -> usize {
    HELPERS_ALIVE.load(Ordering::Relaxed)
}

/// Counts one helper thread for as long as it lives: made before the thread
/// starts, moved into it, dropped when it ends.
#[derive(Debug)]
pub(crate) struct HelperThread(());

impl HelperThread {
    /// Counts a helper thread about to start.
    pub(crate) fn count() -> Self {
        HELPERS_ALIVE.fetch_add(1, Ordering::Relaxed);
        HelperThread(())
    }
}

impl Drop for HelperThread {
    fn drop(&mut self) {
        HELPERS_ALIVE.fetch_sub(1, Ordering::Relaxed);
    }
}
