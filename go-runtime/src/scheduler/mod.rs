//! The G/M/P scheduler: worker threads, run queues, stealing, idle parking.
//!
//! Design note: [`README.md`](https://github.com/go-rs/go/blob/main/go-runtime/src/scheduler/README.md)
//! (the worker's search order, the park/wake protocol and its proof sketch,
//! where goroutines go when they become runnable).
//!
//! In this runtime one worker thread (M) owns one P for its whole life, so
//! "worker" names both. `Runtime` is the global part (Go's `sched`), `Shared`
//! the part of a worker that other threads touch, and [`worker::Worker`] the
//! part only its own thread touches.

pub(crate) mod deadlock;
pub(crate) mod idle;
pub(crate) mod queue;
pub(crate) mod registry;
pub(crate) mod sysmon;
pub(crate) mod worker;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_deque::{Injector, Stealer};
use parking_lot::Mutex;

use self::idle::{Idle, Sleeper};
use self::queue::RunNext;
use crate::coroutine::GRef;

/// Go's `_MaxGomaxprocs`: the most Ps a runtime can have.
pub(crate) const MAX_PROCS: usize = 1024;

/// The default usable stack size of a goroutine: 64 KiB (see
/// `coroutine/README.md`, "Stack size", for the measurement).
pub(crate) const DEFAULT_STACK_SIZE: usize = 64 << 10;

/// The global scheduler state (Go's `sched`).
#[derive(Debug)]
pub(crate) struct Runtime {
    /// The shared half of each started worker, by index; set once when the
    /// worker thread starts.
    workers: Box<[OnceLock<&'static Shared>]>,
    /// How many worker threads were started (only grows); the lock serialises
    /// starting them.
    started: Mutex<usize>,
    /// Worker threads started so far, readable without the lock.
    num_started: AtomicUsize,
    /// GOMAXPROCS: how many workers take shared work.
    nprocs: AtomicUsize,
    /// Which workers take shared work (GOMAXPROCS of them; changed under
    /// `started`'s lock by `rebalance`). A worker whose goroutine blocks its
    /// thread is switched off by sysmon and replaced.
    active: Box<[AtomicBool]>,
    /// The global run queue: goroutines spawned off the workers, or by a
    /// retired worker, or migratable ones woken off their worker.
    pub(crate) injector: Injector<GRef>,
    /// Idle worker bookkeeping (written often: on its own cache line, away
    /// from the read-mostly fields above).
    pub(crate) idle: CachePadded<Idle>,
    /// The next goroutine id not handed to a worker's id cache.
    next_id: CachePadded<AtomicU64>,
    /// Goroutines spawned from plain threads (workers count their own).
    pub(crate) spawned_outside: AtomicUsize,
    /// Usable stack bytes for goroutines spawned without an explicit size.
    pub(crate) stack_size: AtomicUsize,
    /// Whether goroutines spawned from now on migrate (the `unsafe` opt-in).
    pub(crate) migrate_all: AtomicBool,
    /// Finished goroutines for reuse, shared by the workers.
    pub(crate) recycled: Mutex<Vec<GRef>>,
}

/// The part of a worker other threads use.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The worker's index (its P's id).
    pub(crate) index: usize,
    /// Go's `runnext`.
    pub(crate) runnext: RunNext,
    /// Steals from the worker's local queue (only stealable goroutines are
    /// ever in it).
    pub(crate) stealer: Stealer<GRef>,
    /// Started goroutines of this worker woken by other threads; only this
    /// worker pops it.
    pub(crate) inbox: Injector<GRef>,
    /// How to wake the worker.
    pub(crate) sleeper: Sleeper,
    /// Goroutines spawned and finished on this worker.
    pub(crate) counts: CachePadded<Counts>,
    /// The worker thread's kernel id (for sysmon's look at `/proc`).
    pub(crate) tid: std::sync::atomic::AtomicI32,
    /// The goroutines that parked on this worker (`registry.rs`).
    pub(crate) registry: Mutex<registry::Registry>,
    /// Set while the worker is parked with no timer to wake it (its timer
    /// heap is empty): only another thread can give it work. Read by the
    /// deadlock check.
    pub(crate) parked_for_good: AtomicBool,
    /// Timers armed by goroutines running on this worker. Only the worker
    /// uses them, except sysmon, which fires the due ones of a stalled
    /// worker; the lock is uncontended otherwise.
    pub(crate) timers: parking_lot::Mutex<crate::time::timers::Timers>,
}

impl Shared {
    /// Fires the due timers: a woken goroutine goes to `ready`, a callback
    /// runs here (without the lock). Returns the next deadline.
    pub(crate) fn fire_timers(&self, mut ready: impl FnMut(GRef)) -> Option<Instant> {
        use crate::time::timers::Fire;
        let mut timers = self.timers.lock();
        let next = timers.next_deadline()?;
        let now = Instant::now();
        if next > now {
            return Some(next);
        }
        while let Some(fire) = timers.pop_due(now) {
            match fire {
                Fire::Wake(g) => {
                    if g.unpark() {
                        ready(g);
                    }
                }
                Fire::Call(f) => {
                    // The callback may add timers or wake goroutines.
                    drop(timers);
                    f();
                    timers = self.timers.lock();
                }
            }
        }
        timers.next_deadline()
    }
}

/// A worker's goroutine counts, each written only by the worker's own thread.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Goroutines spawned by goroutines running on this worker.
    pub(crate) spawned: AtomicUsize,
    /// Goroutines that finished on this worker.
    pub(crate) finished: AtomicUsize,
    /// The worker's schedule tick (one per goroutine run), for thieves
    /// deciding whether its runnext has waited long enough, and sysmon.
    pub(crate) schedtick: std::sync::atomic::AtomicU32,
    /// Id of the goroutine it runs now, 0 between goroutines (for sysmon).
    pub(crate) running: AtomicU64,
    /// Where that goroutine was spawned (for sysmon's report).
    pub(crate) running_site: std::sync::atomic::AtomicPtr<std::panic::Location<'static>>,
}

impl Counts {
    /// Adds one to a counter only the calling thread writes (no locked
    /// instruction needed).
    pub(crate) fn bump(c: &AtomicUsize) {
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

/// Keeps a value on its own cache line (two, for the adjacent-line
/// prefetcher), so that writes to it do not slow readers of its neighbours.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The global runtime, started on first use.
pub(crate) fn runtime() -> &'static Runtime {
    if let Some(rt) = RUNTIME.get() {
        return rt;
    }
    start()
}

/// The global runtime if it has been started.
pub(crate) fn try_runtime() -> Option<&'static Runtime> {
    RUNTIME.get()
}

#[cold]
fn start() -> &'static Runtime {
    let mut first = false;
    let rt = RUNTIME.get_or_init(|| {
        first = true;
        Runtime {
            workers: (0..MAX_PROCS).map(|_| OnceLock::new()).collect(),
            started: Mutex::new(0),
            num_started: AtomicUsize::new(0),
            nprocs: AtomicUsize::new(procs_from_env()),
            active: (0..MAX_PROCS).map(|_| AtomicBool::new(false)).collect(),
            injector: Injector::new(),
            idle: CachePadded(Idle::default()),
            next_id: CachePadded(AtomicU64::new(1)),
            spawned_outside: AtomicUsize::new(0),
            stack_size: AtomicUsize::new(crate::coroutine::stack::round_stack_size(
                DEFAULT_STACK_SIZE,
            )),
            migrate_all: AtomicBool::new(false),
            recycled: Mutex::new(Vec::new()),
        }
    });
    if first {
        crate::panic::install_hook();
        crate::coroutine::overflow::install_handler();
        crate::introspect::install_sigquit();
        rt.rebalance();
        sysmon::start(rt);
    }
    rt
}

/// GOMAXPROCS from the environment: a positive integer wins; 0, negative or
/// garbage is ignored (GO_SEMANTICS 15); else the available parallelism
/// (which honours CPU affinity and cgroup quotas).
pub(crate) fn procs_from_env() -> usize {
    parse_procs(std::env::var("GOMAXPROCS").ok().as_deref()).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PROCS)
    })
}

fn parse_procs(v: Option<&str>) -> Option<usize> {
    let n: i64 = v?.trim().parse().ok()?;
    (n > 0).then(|| (n as usize).min(MAX_PROCS))
}

impl Runtime {
    /// The current GOMAXPROCS.
    pub(crate) fn nprocs(&self) -> usize {
        self.nprocs.load(Ordering::Relaxed)
    }

    /// Sets GOMAXPROCS, starting worker threads as needed; returns the old value.
    pub(crate) fn set_nprocs(&'static self, n: usize) -> usize {
        let n = n.clamp(1, MAX_PROCS);
        let old = self.nprocs.swap(n, Ordering::SeqCst);
        self.rebalance();
        old
    }

    /// Whether worker `index` takes shared work.
    pub(crate) fn is_active(&self, index: usize) -> bool {
        self.active[index].load(Ordering::Relaxed)
    }

    /// Switches worker `index` off (sysmon: its goroutine blocks its thread)
    /// and brings another worker in to keep GOMAXPROCS workers active.
    pub(crate) fn replace(&'static self, index: usize) {
        self.active[index].store(false, Ordering::SeqCst);
        self.rebalance();
    }

    /// Makes exactly GOMAXPROCS workers active: switches on idle inactive
    /// workers (lowest index first) or starts new threads, or switches off
    /// the highest active ones. An inactive worker still runs the
    /// goroutines that started on it, but takes no shared work.
    fn rebalance(&'static self) {
        let mut started = self.started.lock();
        let want = self.nprocs();
        let mut active = (0..*started).filter(|&i| self.is_active(i)).count();
        let mut woken = 0;
        for i in 0..*started {
            if active >= want {
                break;
            }
            let idle = self.worker(i).is_none_or(|w| w.counts.running.load(Ordering::SeqCst) == 0);
            if !self.is_active(i) && idle {
                self.active[i].store(true, Ordering::SeqCst);
                active += 1;
                woken += 1;
            }
        }
        while active < want && *started < MAX_PROCS {
            let index = *started;
            self.active[index].store(true, Ordering::SeqCst);
            std::thread::Builder::new()
                .name(format!("go-worker-{index}"))
                .spawn(move || worker::run(self, index))
                .unwrap_or_else(|e| panic!("go: cannot start worker thread {index}: {e}"));
            *started += 1;
            active += 1;
        }
        for i in (0..*started).rev() {
            if active <= want {
                break;
            }
            if self.is_active(i) {
                self.active[i].store(false, Ordering::SeqCst);
                active -= 1;
            }
        }
        drop(started);
        for _ in 0..woken {
            self.notify_one();
        }
    }

    /// Called by a new worker thread: publishes its shared half.
    fn register(&self, shared: &'static Shared) {
        self.workers[shared.index].set(shared).expect("worker index registered twice");
        self.num_started.fetch_max(shared.index + 1, Ordering::SeqCst);
    }

    /// The shared half of worker `index`, if its thread has started.
    pub(crate) fn worker(&self, index: usize) -> Option<&'static Shared> {
        self.workers.get(index)?.get().copied()
    }

    /// Number of indices that may hold a started worker.
    pub(crate) fn num_started(&self) -> usize {
        self.num_started.load(Ordering::SeqCst)
    }

    /// `n` fresh goroutine ids, the first returned.
    pub(crate) fn take_ids(&self, n: u64) -> u64 {
        self.next_id.0.fetch_add(n, Ordering::Relaxed)
    }

    /// A fresh goroutine id for a spawn off the workers.
    fn next_id_outside(&self) -> u64 {
        self.take_ids(1)
    }

    /// Counts a goroutine spawned off the workers; returns its id.
    pub(crate) fn spawned_outside(&self) -> u64 {
        self.spawned_outside.fetch_add(1, Ordering::Relaxed);
        self.next_id_outside()
    }

    /// Live goroutines: spawned and not finished (Go's `NumGoroutine`). Exact
    /// when nothing spawns or finishes meanwhile; otherwise an approximation
    /// that may count a goroutine finishing right now.
    pub(crate) fn live(&self) -> usize {
        let workers = || (0..self.num_started()).filter_map(|i| self.worker(i));
        // Finished first: a goroutine counted as finished was spawned before,
        // so the spawn counts read next include it.
        let finished: usize = workers().map(|w| w.counts.finished.load(Ordering::Acquire)).sum();
        let spawned: usize =
            workers().map(|w| w.counts.spawned.load(Ordering::Acquire)).sum::<usize>()
                + self.spawned_outside.load(Ordering::Acquire);
        spawned.saturating_sub(finished)
    }

    /// Wakes an idle worker that may take shared work, if one is needed.
    /// Wakes a sleeping active worker, if any, whatever the searching count
    /// (the netpoller needs an owner: an idle worker will take it).
    pub(crate) fn wake_idle_worker(&self) {
        self.idle.wake_any(|i| {
            if self.is_active(i) { self.worker(i).map(|w| &w.sleeper) } else { None }
        });
    }

    pub(crate) fn notify_one(&self) {
        self.idle.notify_one(|i| {
            if self.is_active(i) { self.worker(i).map(|w| &w.sleeper) } else { None }
        });
    }

    /// Makes a goroutine that is not bound to a worker runnable from a thread
    /// that has no worker to give it to.
    pub(crate) fn inject(&self, g: GRef) {
        self.injector.push(g);
        self.notify_one();
    }
}

/// Makes `g` runnable after `Goroutine::unpark` returned true.
///
/// A started goroutine goes back to its home worker: to its runnext slot when
/// called on that worker, else to its inbox (waking it). A migratable one goes
/// to the caller's worker, or the global queue.
pub(crate) fn ready(g: GRef) {
    let home = g.home();
    if let Some(w) = worker::current()
        && (g.migratable() || home as usize == w.index())
    {
        w.put_runnext(g);
        return;
    }
    let rt = runtime();
    if g.migratable() || home == crate::coroutine::NO_HOME {
        rt.inject(g);
        return;
    }
    let shared = rt.worker(home as usize).expect("a started goroutine's home worker exists");
    shared.inbox.push(g);
    rt.idle.notify_worker(shared.index, &shared.sleeper);
}

/// How many unstarted goroutines a worker's local queue may hold before a
/// goroutine that spawns more yields to them. Go's local run queue holds 256
/// and Go preempts a goroutine after 10 ms, which together keep a spawning
/// loop from queueing a million goroutines; without preemption this bound
/// plays that part (README, "Spawning").
const SPAWN_BACKLOG: usize = 256;

/// Makes a new goroutine runnable: on the caller's runnext slot when called
/// on an active worker (Go's `newproc`), else on the global queue. Returns
/// true if the calling goroutine should yield because its worker's queue is
/// long.
pub(crate) fn submit(g: GRef) -> bool {
    if let Some(w) = worker::current()
        && w.is_active()
    {
        w.put_runnext(g);
        runtime().notify_one();
        return w.local_len() > SPAWN_BACKLOG;
    }
    runtime().inject(g);
    false
}

/// The runtime's coarse clock: milliseconds since it started, advanced by
/// the workers as they schedule (a hint for "blocked for" in dumps).
static COARSE_MS: AtomicU64 = AtomicU64::new(0);

/// When the coarse clock started.
fn epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// The coarse clock (see `COARSE_MS`).
pub(crate) fn coarse_millis() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

/// Advances the coarse clock to `now`.
pub(crate) fn tick_coarse_clock(now: std::time::Instant) {
    let ms = u64::try_from(now.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX);
    COARSE_MS.fetch_max(ms, Ordering::Relaxed);
}

/// The coarse clock read now (for "blocked for" computations).
pub(crate) fn coarse_now() -> u64 {
    tick_coarse_clock(std::time::Instant::now());
    coarse_millis()
}

/// Registry step 1: records `g`, about to run for the first time on worker
/// `w`.
pub(crate) fn register(w: &Shared, g: &GRef) {
    let slot = w.registry.lock().insert(g.clone());
    g.registry().set((w.index as u64) << 32 | u64::from(slot));
}

/// Registry step 2: removes `g` from its registry, if it is in one.
pub(crate) fn unregister(g: &crate::coroutine::Goroutine) {
    let r = g.registry().get();
    if r == crate::coroutine::NOT_REGISTERED {
        return;
    }
    let (index, slot) = ((r >> 32) as usize, r as u32);
    g.registry().set(crate::coroutine::NOT_REGISTERED);
    // Drop the registry's reference after releasing the lock.
    let entry = runtime().worker(index).and_then(|w| w.registry.lock().remove(slot));
    drop(entry);
}

#[cfg(test)]
mod tests {
    use super::parse_procs;

    #[test]
    fn gomaxprocs_env_parsing_follows_go() {
        // GO_SEMANTICS 15: a positive integer wins; 0, negative, garbage ignored.
        assert_eq!(parse_procs(Some("3")), Some(3));
        assert_eq!(parse_procs(Some(" 2 ")), Some(2));
        assert_eq!(parse_procs(Some("0")), None);
        assert_eq!(parse_procs(Some("-4")), None);
        assert_eq!(parse_procs(Some("lots")), None);
        assert_eq!(parse_procs(Some("")), None);
        assert_eq!(parse_procs(None), None);
        assert_eq!(parse_procs(Some("100000")), Some(super::MAX_PROCS));
    }
}
