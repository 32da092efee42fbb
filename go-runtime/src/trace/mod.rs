//! Recording scheduling events for `go::runtime::trace` (Go's `runtime/trace`).
//!
//! A leaf: it knows goroutines and workers only by number. The scheduler and
//! the coroutine layer call [`emit`] at each event; `runtime::trace` starts
//! a recording ([`begin`]), stops it ([`end`]) and turns the events into a
//! file (`chrome.rs`).
//!
//! # Cost
//! Off, an event site costs one relaxed load of [`ON`] and a branch. On,
//! an event is a clock read and a 32-byte write into the calling thread's
//! current chunk, published with one release store: no lock, no shared
//! cache line. A thread takes a lock only to register a new chunk, once per
//! [`CHUNK`] events.
//!
//! # Protocol
//! Each chunk has one writer, the thread that made it: it writes event `i`,
//! then stores `len = i + 1` (Release). [`end`] clears `ON`, then reads each
//! registered chunk's `len` (Acquire, pairing with that store) and copies the
//! events below it, which are complete; a writer that got past the `ON`
//! check before it was cleared may still append beyond the snapshot, to a
//! chunk that the reader no longer looks at (it holds it by `Arc`). A chunk
//! belongs to one recording (`session`): a thread whose chunk is from an
//! earlier one starts a new chunk.
//!
//! # Measured, and rejected
//! Unbuffered ping-pong (`bench/run.py pingpong-traced`, 6 events a round
//! trip): 2.6-2.8x slower traced with `Instant::now` stamps (35 ns a read
//! on this VM), a global atomic counter for wake-arrow ids and 40-byte
//! events; 1.6-1.7x with the time-stamp counter (12 ns), arrow ids taken
//! from the event's place in the sorted recording, and 32-byte events.
//! Rejected: a lock per thread buffer (an uncontended lock per event costs
//! as much as the clock); a writer thread streaming events to the file as
//! chunks fill (a bounded memory footprint, but the file must then be
//! written in time order from unsorted per-thread streams, and a slow disk
//! would stall the chunk hand-off); recording only goroutine switches and
//! deriving wake-ups (who woke whom is not recoverable afterwards);
//! 512 KiB chunks for workers pre-faulted with `MADV_POPULATE_WRITE` (a
//! traced ping-pong's median 546 against 564 ns over 5 alternated runs:
//! within the noise, not worth the code). Writing the file costs about
//! 0.9 us an event (5.2 s for a million round trips), after `format!` per
//! event was replaced by writes straight into the buffered file (10 s).

pub(crate) mod chrome;

use std::cell::{RefCell, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;

/// Events per chunk (32 KiB).
const _: () = assert!(std::mem::size_of::<Event>() == 32);
const CHUNK: usize = 1024;

/// Whether a recording is on: read at every event site.
static ON: AtomicBool = AtomicBool::new(false);
/// The current recording's number; chunks of another are not written.
static SESSION: AtomicU32 = AtomicU32::new(0);
/// The chunks of the current recording.
static CHUNKS: Mutex<Vec<Arc<Chunk>>> = Mutex::new(Vec::new());
/// Time is counted from here: the clock and the stamp counter read
/// together at the first recording.
static ORIGIN: OnceLock<(Instant, u64)> = OnceLock::new();
/// When the current recording began (a stamp).
static BEGAN: AtomicU64 = AtomicU64::new(0);

/// What happened. `Event::g` and `Event::arg` mean what each variant says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Goroutine `g` was created; `arg`: the address of its spawn site
    /// (`&'static Location`).
    Create,
    /// Goroutine `g`, just created, was spawned by goroutine `arg` (emitted
    /// after `Create` when a goroutine spawned it).
    CreatedBy,
    /// Goroutine `g` started running on the event's worker.
    Start,
    /// Goroutine `g` stopped running: `arg` is a [`Stop`] code, `reason`
    /// the wait reason's byte when it parked.
    Stop,
    /// Goroutine `g` was made runnable by goroutine `arg` (0: not a
    /// goroutine: a timer, the netpoller, a plain thread).
    Unpark,
    /// The worker found nothing to run and parks its thread.
    Idle,
    /// The worker's thread woke from an idle park.
    Wake,
    /// The worker took goroutine `g` from worker `arg` (`u64::MAX`: the
    /// global queue).
    Steal,
    /// sysmon switched worker `arg` off and brought another in (a hand-off).
    Handoff,
    /// sysmon reported goroutine `g` as blocking worker `arg`.
    Stall,
    /// sysmon asked worker `arg` to switch goroutines.
    Preempt,
    /// A worker looked for a deadlock.
    DeadlockCheck,
}

/// Why a goroutine stopped running ([`Kind::Stop`]'s `arg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Stop {
    /// It yielded (`gosched`, a preemption request, a long spawn queue).
    Yield = 0,
    /// It parked (the wait reason is the event's `reason`).
    Park = 1,
    /// It finished.
    Finish = 2,
}

/// One event: 32 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    /// When: a [`stamp`] while recorded, nanoseconds since the origin once
    /// [`end`] returns it.
    pub(crate) ts: u64,
    /// What.
    pub(crate) kind: Kind,
    /// The worker whose thread recorded it (`u32::MAX`: not a worker).
    pub(crate) worker: u32,
    /// The goroutine it is about (0: none).
    pub(crate) g: u64,
    /// Per kind.
    pub(crate) arg: u64,
    /// A wait reason's byte (`Stop`).
    pub(crate) reason: u8,
}

/// Not a worker thread.
pub(crate) const NO_WORKER: u32 = u32::MAX;

/// One thread's run of events (module docs, "Protocol").
struct Chunk {
    /// The recording it belongs to.
    session: u32,
    /// Events `0..len` are written.
    len: AtomicUsize,
    events: Box<[UnsafeCell<MaybeUninit<Event>>]>,
}

// SAFETY: only the owning thread writes `events`, each slot once and before
// publishing it through `len` (Release); readers read only below `len`
// (Acquire). So no slot is read while written.
unsafe impl Sync for Chunk {}
// SAFETY: as above; the events are plain data.
unsafe impl Send for Chunk {}

/// What a thread records into.
struct Local {
    /// Its worker index, or `NO_WORKER`.
    worker: u32,
    chunk: Option<Arc<Chunk>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const { RefCell::new(Local { worker: NO_WORKER, chunk: None }) };
}

/// Whether a recording is on (one relaxed load: the event sites' check).
#[inline]
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Marks the calling thread as worker `index` (its events carry it).
pub(crate) fn set_worker(index: usize) {
    LOCAL.with(|l| l.borrow_mut().worker = index as u32);
}

/// The origin, read once.
fn origin() -> (Instant, u64) {
    *ORIGIN.get_or_init(|| (Instant::now(), counter()))
}

/// The CPU's time-stamp counter: about 12 ns a read here, where
/// `Instant::now` takes 35 (the kernel's clock source is this counter,
/// which it checked is constant-rate and synchronised across CPUs).
#[cfg(target_arch = "x86_64")]
fn counter() -> u64 {
    // SAFETY: `rdtsc` reads a register; it has no preconditions.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Elsewhere, nanoseconds from a process-wide instant.
#[cfg(not(target_arch = "x86_64"))]
fn counter() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A time stamp for an event: cheap to take, turned into nanoseconds by
/// [`end`] (`to_ns`).
#[inline]
fn stamp() -> u64 {
    counter()
}

/// Turns stamps into nanoseconds since the origin, measuring the counter's
/// rate against the clock from the origin to now.
fn to_ns() -> impl Fn(u64) -> u64 {
    let (at, c0) = origin();
    let (elapsed, c1) = (at.elapsed().as_nanos() as f64, counter());
    let rate = if c1 > c0 { elapsed / (c1 - c0) as f64 } else { 1.0 };
    move |c| (c.saturating_sub(c0) as f64 * rate) as u64
}

/// Records an event, if a recording is on. Never inlined: it may run on a
/// goroutine, and no thread-local address may be cached across a switch
/// (docs/design.md, "Soundness first"); it does not switch.
#[inline(never)]
pub(crate) fn emit(kind: Kind, g: u64, arg: u64, reason: u8) {
    if !on() {
        return;
    }
    let ts = stamp();
    let _ = LOCAL.try_with(|l| {
        let Ok(mut l) = l.try_borrow_mut() else { return };
        let session = SESSION.load(Ordering::Relaxed);
        let full = l.chunk.as_ref().is_none_or(|c| {
            c.session != session || c.len.load(Ordering::Relaxed) == c.events.len()
        });
        if full {
            let c = Arc::new(Chunk {
                session,
                len: AtomicUsize::new(0),
                events: (0..CHUNK).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect(),
            });
            let mut chunks = CHUNKS.lock();
            // A recording that ended meanwhile does not get this chunk.
            if SESSION.load(Ordering::Relaxed) != session || !on() {
                return;
            }
            chunks.push(c.clone());
            l.chunk = Some(c);
        }
        let worker = l.worker;
        let c = l.chunk.as_ref().expect("made above");
        let i = c.len.load(Ordering::Relaxed);
        // SAFETY: this thread is the chunk's only writer, and slot `i` is
        // not yet published, so nobody reads it (module docs).
        unsafe { (*c.events[i].get()).write(Event { ts, kind, worker, g, arg, reason }) };
        // Release pairs with the Acquire load in `end`: the event is
        // complete before it is counted.
        c.len.store(i + 1, Ordering::Release);
    });
}

/// Starts a recording; none is on (`start_file` checks, under `FILE`).
fn begin() {
    let mut chunks = CHUNKS.lock();
    debug_assert!(!on(), "one recording at a time");
    origin();
    BEGAN.store(stamp(), Ordering::Relaxed);
    chunks.clear();
    SESSION.fetch_add(1, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
}

/// Ends the recording (`stop_file`, under `FILE`): its events in time
/// order, and when it began and ended (ns since the origin).
fn end() -> (Vec<Event>, u64, u64) {
    let chunks = {
        let mut chunks = CHUNKS.lock();
        debug_assert!(on(), "a recording is on");
        ON.store(false, Ordering::Relaxed);
        std::mem::take(&mut *chunks)
    };
    let end = stamp();
    let mut events = Vec::new();
    for c in &chunks {
        // Acquire pairs with the Release store in `emit`.
        let len = c.len.load(Ordering::Acquire);
        for slot in &c.events[..len] {
            // SAFETY: slots below the published `len` are written and never
            // written again (module docs).
            events.push(unsafe { (*slot.get()).assume_init() });
        }
    }
    let ns = to_ns();
    for e in &mut events {
        e.ts = ns(e.ts);
    }
    events.sort_by_key(|e| e.ts);
    (events, ns(BEGAN.load(Ordering::Relaxed)), ns(end))
}

/// Where a recording goes: the file, its path, how wait reasons are named.
struct Output {
    file: std::fs::File,
    path: std::path::PathBuf,
    reason: fn(u8) -> &'static str,
}

/// The current recording's output.
static FILE: Mutex<Option<Output>> = Mutex::new(None);

/// Starts a recording that [`stop_file`] writes to `path` (created now, so
/// that a bad path is this call's error).
///
/// # Errors
/// Creating the file; `tracing is already enabled` (Go's words) if a
/// recording is on.
pub(crate) fn start_file(
    path: &std::path::Path,
    reason: fn(u8) -> &'static str,
) -> std::io::Result<()> {
    // Recordings start and stop only here and in `stop_file`, under this
    // lock: a recording is on exactly while `FILE` holds its output.
    let mut file = FILE.lock();
    if file.is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "tracing is already enabled",
        ));
    }
    let f = std::fs::File::create(path)?;
    begin();
    *file = Some(Output { file: f, path: path.to_owned(), reason });
    Ok(())
}

/// Ends the recording started by [`start_file`] and writes it; returns the
/// path written, or `None` if no recording was on.
///
/// # Errors
/// Writing the file.
pub(crate) fn stop_file() -> std::io::Result<Option<std::path::PathBuf>> {
    // The recording ends under the lock, so that a `start_file` racing
    // with this cannot begin a recording that this `end` would take.
    let (o, (events, begin, end)) = {
        let mut file = FILE.lock();
        let Some(o) = file.take() else { return Ok(None) };
        (o, end())
    };
    let mut out = std::io::BufWriter::new(o.file);
    chrome::write(&mut out, &events, begin, end, o.reason)?;
    std::io::Write::flush(&mut out)?;
    Ok(Some(o.path))
}
