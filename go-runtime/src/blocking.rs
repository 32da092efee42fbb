//! `runtime::blocking`: run a known-blocking call on a helper thread while
//! only the calling goroutine waits.
//!
//! Helper threads are cached: a job goes to an idle helper if there is one,
//! else to a new thread; a helper idle for 10 s exits.
//!
//! # Why borrowing is sound
//! The closure may borrow from the calling goroutine's stack (it is not
//! `'static`). The goroutine waits, parked, until the closure has finished
//! and its result (or panic) has been handed back: it cannot return, unwind
//! or be resumed in between, because the only thing that wakes it is the
//! completion signal. If it is never resumed (its last reference dropped
//! while parked), its stack is leaked, never freed or reused
//! (`coroutine/README.md`), so the borrowed data outlive the closure in
//! every case.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::coroutine::{self, WaitReason};
use crate::scheduler::{HelperThread, Latch};

/// A job for a helper thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The helper threads.
struct Pool {
    /// Queued jobs and the number of idle helpers.
    state: Mutex<(VecDeque<Job>, usize)>,
    /// Wakes an idle helper.
    cv: Condvar,
}

/// How long an idle helper waits for work before it exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

fn pool() -> &'static Pool {
    static POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| Pool { state: Mutex::new((VecDeque::new(), 0)), cv: Condvar::new() })
}

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut st = self.state.lock();
        st.0.push_back(job);
        if st.1 > 0 {
            self.cv.notify_one();
            return;
        }
        drop(st);
        // Counted before it starts, so the deadlock check never sees an
        // uncounted thread; uncounted when it ends.
        let counted = HelperThread::count();
        std::thread::Builder::new()
            .name("go-blocking".into())
            .spawn(move || {
                self.helper();
                drop(counted);
            })
            .unwrap_or_else(|e| panic!("go: cannot start a blocking-call helper thread: {e}"));
    }

    fn helper(&self) {
        let mut st = self.state.lock();
        loop {
            if let Some(job) = st.0.pop_front() {
                drop(st);
                job();
                st = self.state.lock();
                continue;
            }
            st.1 += 1;
            let timed_out = self.cv.wait_for(&mut st, IDLE_EXIT).timed_out();
            st.1 -= 1;
            if timed_out && st.0.is_empty() {
                return;
            }
        }
    }
}

/// Runs `f`, a call that blocks its OS thread (blocking file or socket I/O,
/// `std::thread::sleep`, a C library call, a long computation), on a helper
/// thread, while only the calling goroutine waits: its worker keeps running
/// other goroutines. On a plain thread `f` simply runs.
///
/// `f` may borrow from the caller. A panic in `f` resumes in the caller.
///
/// # Example
/// ```
/// let path = std::env::temp_dir().join("go-blocking-doc.txt");
/// std::fs::write(&path, "hello").unwrap();
/// let text = go::spawn(move || go::runtime::blocking(|| std::fs::read_to_string(&path)))
///     .join()
///     .unwrap()
///     .unwrap();
/// assert_eq!(text, "hello");
/// ```
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if !coroutine::on_goroutine() {
        return f();
    }
    // The outcome, written once by the helper.
    let result: Arc<Mutex<Option<std::thread::Result<T>>>> = Arc::new(Mutex::new(None));
    // Fired once the helper holds nothing that mentions `T` or `F`.
    let finished = Arc::new(Latch::new());
    let (theirs, latch) = (result.clone(), finished.clone());
    let job = move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        *theirs.lock() = Some(r);
        drop(theirs);
        latch.fire(1);
    };
    let job: Box<dyn FnOnce() + Send + '_> = Box::new(job);
    // The job borrows from the caller (`F` and `T` need not be 'static). The
    // caller does not return, unwind or go past the wait below until
    // `finished` fires, and the job fires it only after `f` has run and the
    // job has dropped everything that mentions `F` or `T` (`f` is consumed,
    // `theirs` dropped; what remains, the latch, is 'static). If the caller is never resumed its stack is leaked, not
    // freed (module doc).
    // SAFETY: by the above, every borrow outlives its last use, so erasing
    // the job's lifetime is sound.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
    pool().submit(job);
    finished.wait(WaitReason::Syscall, None);
    let outcome = result.lock().take();
    match outcome.expect("the helper stored a result") {
        Ok(v) => v,
        Err(p) => resume_unwind(p),
    }
}
