//! Looking at the goroutines: [`goroutines`], [`dump`], the SIGQUIT dump,
//! and the dump of Go's deadlock report.
//!
//! The list comes from the per-worker registries of goroutines that have
//! blocked at least once (`registry.rs`); the others are running or
//! runnable and are counted, not listed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::global::try_runtime;
use super::{park, threads};
use crate::clock;
use crate::coroutine::{GRef, Goroutine, WaitReason};
use crate::report::{self, Frame, Traceback};

/// What a goroutine is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GoroutineState {
    /// Running on a worker thread now.
    Running,
    /// Ready to run, waiting for a worker.
    Runnable,
    /// Parked, for this reason.
    Waiting(WaitReason),
}

/// One goroutine, as [`goroutines`] saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GoroutineInfo {
    /// Go's goroutine id.
    pub id: u64,
    /// Its state when looked at.
    pub state: GoroutineState,
    /// The goroutine that spawned it, `None` if a plain thread did.
    pub parent: Option<u64>,
    /// Where it was spawned.
    pub spawn_site: &'static Location<'static>,
    /// The name given with `Builder::name`.
    pub name: Option<String>,
    /// How long it has been waiting (about; `None` unless waiting).
    pub blocked_for: Option<Duration>,
    /// The program's main goroutine (reports name no creator for it).
    main: bool,
    /// Its stack, top first, when the report captured it (the deadlock
    /// report does: `deadlock_dump`).
    stack: Option<Vec<Frame>>,
    /// The function that spawned it, when its stack showed it.
    creator: Option<String>,
}

impl GoroutineInfo {
    fn of(g: &Goroutine, now_ms: u64) -> Self {
        let (reason, since) = g.wait_reason();
        let state = if g.is_running() {
            GoroutineState::Running
        } else if g.is_parked() {
            GoroutineState::Waiting(reason)
        } else {
            GoroutineState::Runnable
        };
        GoroutineInfo {
            id: g.id(),
            state,
            parent: (g.parent() != 0).then_some(g.parent()),
            spawn_site: g.spawn_site(),
            name: g.name().map(str::to_owned),
            blocked_for: matches!(state, GoroutineState::Waiting(_))
                .then(|| Duration::from_millis(now_ms.saturating_sub(since))),
            main: g.is_main(),
            stack: None,
            creator: None,
        }
    }
}

/// Go's dump format: `goroutine 7 [chan receive, 2 minutes]:`, its stack if
/// it was captured, and where it was created (Go names no creator for the
/// main goroutine).
impl std::fmt::Display for GoroutineInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            GoroutineState::Running => "running",
            GoroutineState::Runnable => "runnable",
            GoroutineState::Waiting(r) => r.as_str(),
        };
        write!(f, "goroutine {} [{state}", self.id)?;
        // Go adds the wait time once it reaches a minute.
        if let Some(d) = self.blocked_for
            && d >= Duration::from_secs(60)
        {
            let m = d.as_secs() / 60;
            write!(f, ", {m} minute{}", if m == 1 { "" } else { "s" })?;
        }
        writeln!(f, "]:")?;
        if let Some(stack) = &self.stack {
            report::write_frames(f, stack)?;
        }
        if self.main {
            return Ok(());
        }
        report::write_created_by(
            f,
            self.creator.as_deref(),
            self.parent.unwrap_or(0),
            self.spawn_site,
        )
    }
}

/// Every goroutine that has blocked at least once and not finished, by id:
/// its state, spawn site and how long it has been waiting. Goroutines that
/// have not blocked yet are running or runnable and are not listed
/// (`num_goroutine` counts them; a dump ends with their number).
///
/// # Example
/// ```
/// use go::runtime::{GoroutineState, WaitReason};
///
/// let ch = go::chan::Chan::<u8>::new(0);
/// let rx = ch.clone();
/// let h = go::spawn(move || rx.recv());
/// // Wait until it is parked on the channel.
/// let id = loop {
///     let waiting = go::runtime::goroutines()
///         .into_iter()
///         .find(|g| g.state == GoroutineState::Waiting(WaitReason::ChanReceive));
///     if let Some(g) = waiting {
///         break g.id;
///     }
///     std::thread::yield_now();
/// };
/// assert!(id > 0);
/// ch.send(1);
/// h.join().unwrap();
/// ```
pub fn goroutines() -> Vec<GoroutineInfo> {
    let Some(rt) = try_runtime() else { return Vec::new() };
    let now = clock::coarse_now();
    let mut all = Vec::new();
    for i in 0..rt.num_started() {
        if let Some(w) = rt.worker(i) {
            w.registry.lock().each(|g| all.push(GoroutineInfo::of(g, now)));
        }
    }
    all.sort_by_key(|g| g.id);
    all
}

/// Go's dump of all goroutines, as text: one block per goroutine, separated
/// by blank lines, then a count of the ones not listed.
pub(super) fn dump_text() -> String {
    dump_text_except(0)
}

/// [`dump_text`] without goroutine `id` (0: none left out), for a panic
/// report that has already printed that goroutine.
pub(crate) fn dump_text_except(id: u64) -> String {
    format_dump(with_stacks(id))
}

/// Stacks captured in one dump at the most: capturing and symbolizing
/// takes about a millisecond each, and a dump of a million goroutines
/// would take many minutes. The rest are listed without a stack.
const MAX_STACKS: usize = 1000;

/// Every goroutine in the registries but `except`, by id, each parked one
/// with its stack: captured by resuming it briefly into a routine that
/// records it (`Goroutine::capture_stack`, whose `HELD` state keeps
/// wakers and workers away meanwhile). A goroutine woken during its
/// capture is queued here, as its waker would have done.
fn with_stacks(except: u64) -> Vec<GoroutineInfo> {
    let Some(rt) = try_runtime() else { return Vec::new() };
    let now = clock::coarse_now();
    let mut gs: Vec<GRef> = Vec::new();
    for i in 0..rt.num_started() {
        if let Some(w) = rt.worker(i) {
            gs.extend(w.registry.lock().refs());
        }
    }
    gs.retain(|g| g.id() != except);
    gs.sort_by_key(|g| g.id());
    let mut infos = Vec::with_capacity(gs.len());
    for (n, g) in gs.into_iter().enumerate() {
        let mut info = GoroutineInfo::of(&g, now);
        let captured = if n < MAX_STACKS { g.capture_stack() } else { None };
        if let Some((stack, woken)) = captured {
            let mut frames = stack.map(|b| report::user_frames(&b.to_string()));
            if let Some(frames) = frames.as_mut() {
                if info.main {
                    report::name_main_frame(frames);
                } else {
                    info.creator = report::take_spawn_closure(frames, info.spawn_site);
                }
            }
            info.stack = frames;
            if woken {
                park::ready(g);
            }
        }
        infos.push(info);
    }
    infos
}

/// The dump of `infos`, then the count of goroutines not listed.
fn format_dump(infos: Vec<GoroutineInfo>) -> String {
    let mut s = String::new();
    for g in infos {
        let _ = writeln!(s, "{g}");
    }
    let unstarted = try_runtime().map_or(0, |rt| {
        let registered: usize = (0..rt.num_started())
            .filter_map(|i| rt.worker(i))
            .map(|w| w.registry.lock().len())
            .sum();
        rt.live().saturating_sub(registered)
    });
    if unstarted > 0 {
        let _ = writeln!(s, "({unstarted} more goroutines running or runnable)\n");
    }
    s
}

/// Prints every goroutine that has blocked at least once to stderr in Go's
/// format (what Go prints on SIGQUIT or a deadlock): its state, its stack
/// (the program's own frames, each with its `file:line` when the binary has
/// debug info) and who created it. Stacks are recorded by the goroutines
/// themselves, each resumed briefly (at most 1,000 per dump).
///
/// # Example
/// ```
/// let h = go::spawn(|| go::time::sleep(go::time::MILLISECOND * 20));
/// go::runtime::dump(); // "goroutine N [sleep]:", its frames, its creator
/// h.join().unwrap();
/// ```
pub fn dump() {
    let text = dump_text();
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Prints Go's deadlock report and exits with status 2 (docs/go-semantics.md, 58).
pub(super) fn report_deadlock() -> ! {
    // Two idle workers may confirm the same deadlock at once: only the
    // first reports; the other waits for the exit. The swap's atomicity is
    // all that is needed: Relaxed.
    static REPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if REPORTING.swap(true, Ordering::Relaxed) {
        loop {
            std::thread::park();
        }
    }
    // GOTRACEBACK=none: Go prints the fatal error line only.
    let text = match report::traceback() {
        Traceback::None => String::new(),
        _ => format!("\n{}", dump_text()),
    };
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "fatal error: all goroutines are asleep - deadlock!\n{text}");
    let _ = err.flush();
    std::process::exit(2);
}

/// The write end of the SIGQUIT pipe.
static SIGQUIT_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_sigquit(_: libc::c_int) {
    let fd = SIGQUIT_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = b"q";
        // SAFETY: `write` is async-signal-safe; `b` is a valid one-byte buffer.
        unsafe { libc::write(fd, b.as_ptr().cast(), 1) };
    }
}

/// Makes SIGQUIT print the goroutine dump and exit with status 2, as Go
/// does, unless the program already handles SIGQUIT. The handler only
/// writes a byte to a pipe; a watcher thread prints the dump.
pub(super) fn install_sigquit() {
    // SAFETY: querying the current action with a null new action.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a sigaction to fill in.
    if unsafe { libc::sigaction(libc::SIGQUIT, std::ptr::null(), &mut old) } != 0
        || old.sa_sigaction != libc::SIG_DFL
    {
        return;
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let (rd, wr) = (fds[0], fds[1]);
    threads::count_runtime_thread();
    let spawned = std::thread::Builder::new().name("go-sigquit".into()).spawn(move || {
        let mut b = [0u8; 1];
        // SAFETY: reading one byte into `b` from our own pipe.
        while unsafe { libc::read(rd, b.as_mut_ptr().cast(), 1) } != 1 {}
        let text = dump_text();
        let _ = std::io::stdout().flush();
        let _ = write!(std::io::stderr().lock(), "SIGQUIT: quit\n\n{text}");
        std::process::exit(2);
    });
    if spawned.is_err() {
        threads::uncount_runtime_thread();
        return;
    }
    SIGQUIT_PIPE.store(wr, Ordering::Relaxed);
    // SAFETY: a zeroed sigaction with a handler that only calls `write`.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigquit as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGQUIT, &sa, std::ptr::null_mut());
    }
}
