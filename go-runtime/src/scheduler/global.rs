//! The global scheduler state (Go's `sched`): the workers, the global run
//! queue, GOMAXPROCS and the runtime-wide settings, and starting it all.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_deque::Injector;
use parking_lot::Mutex;

use super::idle::{Idle, Sleeper};
use super::remote::{CachePadded, Remote};
use super::{dump, sysmon, worker};
use crate::coroutine::{self, GRef};
use crate::trace;

/// Go's `_MaxGomaxprocs`: the most Ps a runtime can have.
pub(super) const MAX_PROCS: usize = 1024;

/// The default usable stack size of a goroutine: 64 KiB (see
/// `coroutine/README.md`, "Stack size", for the measurement).
pub(super) const DEFAULT_STACK_SIZE: usize = 64 << 10;

/// The global scheduler state (Go's `sched`).
#[derive(Debug)]
pub(super) struct Runtime {
    /// The remote half of each started worker, by index; set once when the
    /// worker thread starts.
    workers: Box<[OnceLock<&'static Remote>]>,
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
    pub(super) injector: Injector<GRef>,
    /// Idle worker bookkeeping (written often: on its own cache line, away
    /// from the read-mostly fields above).
    pub(super) idle: CachePadded<Idle>,
    /// The next goroutine id not handed to a worker's id cache.
    next_id: CachePadded<AtomicU64>,
    /// Goroutines spawned from plain threads (workers count their own).
    pub(super) spawned_outside: AtomicUsize,
    /// Usable stack bytes for goroutines spawned without an explicit size.
    pub(super) stack_size: AtomicUsize,
    /// Whether goroutines spawned from now on migrate (the `unsafe` opt-in).
    pub(super) migrate_all: AtomicBool,
    /// Finished goroutines for reuse, shared by the workers.
    pub(super) recycled: Mutex<Vec<GRef>>,
    /// The CPUs this process may use (affinity and cgroup quota), which
    /// bounds how many idle workers spin (`Idle::may_spin`) and which
    /// workers take shared work when there are more workers than CPUs
    /// (`takes_shared`).
    pub(super) cpus: usize,
    /// With more workers than CPUs, whether each worker is one of the first
    /// `cpus` active ones, which take shared work (`takes_shared`); set
    /// with `active`, by `rebalance`.
    lead: Box<[AtomicBool]>,
    /// With more workers than CPUs: set by sysmon while fewer awake
    /// workers than CPUs have a CPU to use (the others are blocked in the
    /// kernel) and goroutines wait for one, so that every active worker
    /// takes shared work (`takes_shared`; README, "More workers than CPUs").
    pub(super) spare_cpu: AtomicBool,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The global runtime, started on first use.
pub(super) fn runtime() -> &'static Runtime {
    if let Some(rt) = RUNTIME.get() {
        return rt;
    }
    start()
}

/// The global runtime if it has been started.
pub(super) fn try_runtime() -> Option<&'static Runtime> {
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
            lead: (0..MAX_PROCS).map(|_| AtomicBool::new(false)).collect(),
            injector: Injector::new(),
            idle: CachePadded(Idle::default()),
            next_id: CachePadded(AtomicU64::new(1)),
            spawned_outside: AtomicUsize::new(0),
            stack_size: AtomicUsize::new(coroutine::round_stack_size(DEFAULT_STACK_SIZE)),
            migrate_all: AtomicBool::new(false),
            recycled: Mutex::new(Vec::new()),
            cpus: available_cpus(),
            spare_cpu: AtomicBool::new(false),
        }
    });
    if first {
        coroutine::install_panic_hook();
        coroutine::install_overflow_handler();
        coroutine::set_ready_hook(super::park::ready);
        dump::install_sigquit();
        trace_from_env();
        rt.rebalance();
        sysmon::start(rt);
    }
    rt
}

/// Starts a trace recording if `GOTRACE` names a file, and writes it when
/// the process exits (`go::runtime::trace`).
fn trace_from_env() {
    let Some(path) = std::env::var_os("GOTRACE").filter(|p| !p.is_empty()) else { return };
    let path = std::path::PathBuf::from(path);
    if let Err(e) = trace::start_file(&path, coroutine::WaitReason::name_of) {
        eprintln!("go: GOTRACE={}: {e}", path.display());
        return;
    }
    extern "C" fn write_at_exit() {
        if let Err(e) = trace::stop_file() {
            eprintln!("go: writing the GOTRACE file: {e}");
        }
    }
    // SAFETY: `atexit` with a function that lives for ever; it runs on the
    // exiting thread after `main` returns or `exit` is called.
    unsafe { libc::atexit(write_at_exit) };
}

/// GOMAXPROCS from the environment: a positive integer wins; 0, negative or
/// garbage is ignored (docs/go-semantics.md, 15); else the available parallelism
/// (which honours CPU affinity and cgroup quotas).
pub(super) fn procs_from_env() -> usize {
    parse_procs(std::env::var("GOMAXPROCS").ok().as_deref()).unwrap_or_else(available_cpus)
}

/// The CPUs this process may use (which honours CPU affinity and cgroup
/// quotas), at most [`MAX_PROCS`].
fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PROCS)
}

fn parse_procs(v: Option<&str>) -> Option<usize> {
    let n: i64 = v?.trim().parse().ok()?;
    (n > 0).then(|| (n as usize).min(MAX_PROCS))
}

impl Runtime {
    /// The current GOMAXPROCS.
    pub(super) fn nprocs(&self) -> usize {
        self.nprocs.load(Ordering::Relaxed)
    }

    /// Sets GOMAXPROCS, starting worker threads as needed; returns the old value.
    pub(super) fn set_nprocs(&'static self, n: usize) -> usize {
        let n = n.clamp(1, MAX_PROCS);
        // SeqCst pairs with the SeqCst fence of `Idle::register_sleeper`:
        // a worker going to sleep sees the new GOMAXPROCS (and `rebalance`
        // below re-reads it under the `started` lock).
        let old = self.nprocs.swap(n, Ordering::SeqCst);
        self.rebalance();
        old
    }

    /// Whether worker `index` is one of the GOMAXPROCS active workers.
    pub(super) fn is_active(&self, index: usize) -> bool {
        self.active[index].load(Ordering::Relaxed)
    }

    /// Whether worker `index` takes shared work (goroutines not started
    /// yet, and the global queue): an active worker does, except that with
    /// more workers than CPUs only the first `cpus` active ones do (by
    /// index: `lead`), unless sysmon has seen a CPU go unused while
    /// goroutines waited (`spare_cpu`). A goroutine stays on the worker it first ran on, and
    /// threads beyond the CPUs would only take turns on the same CPUs, each
    /// message between them a wake-up through the kernel (README, "More
    /// workers than CPUs").
    pub(super) fn takes_shared(&self, index: usize) -> bool {
        self.is_active(index)
            && (!self.crowded()
                || self.lead[index].load(Ordering::Relaxed)
                // Relaxed: a hint; sysmon wakes a worker after setting it.
                || self.spare_cpu.load(Ordering::Relaxed))
    }

    /// Whether there are more workers than CPUs.
    pub(super) fn crowded(&self) -> bool {
        self.nprocs() > self.cpus
    }

    /// Switches worker `index` off (sysmon: its goroutine blocks its thread)
    /// and brings another worker in to keep GOMAXPROCS workers active.
    pub(super) fn replace(&'static self, index: usize) {
        // SeqCst pairs with the SeqCst fence of `Idle::register_sleeper`:
        // a searcher switched off hands its duty on (README, proof point 3).
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
            // Relaxed: a hint (a worker busy now is left off).
            let idle = self.worker(i).is_none_or(|w| w.counts.running.load(Ordering::Relaxed) == 0);
            if !self.is_active(i) && idle {
                // SeqCst pairs with the SeqCst fence of
                // `Idle::register_sleeper`, as in `replace`.
                self.active[i].store(true, Ordering::SeqCst);
                active += 1;
                woken += 1;
            }
        }
        while active < want && *started < MAX_PROCS {
            let index = *started;
            // SeqCst pairs with the fence of `Idle::register_sleeper`, as above.
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
                // SeqCst pairs with the SeqCst fence of
                // `Idle::register_sleeper`, as in `replace`.
                self.active[i].store(false, Ordering::SeqCst);
                active -= 1;
            }
        }
        // The first `cpus` active workers lead (`takes_shared`): after a
        // `replace` of worker 0, say, the next active one takes its place.
        let mut leads = 0;
        for i in 0..*started {
            let lead = self.is_active(i) && leads < self.cpus;
            leads += usize::from(lead);
            // SeqCst pairs with the SeqCst fence of `Idle::register_sleeper`,
            // as the `active` flags do: a searcher that stops leading hands
            // its duty on (README, proof point 3).
            if self.lead[i].swap(lead, Ordering::SeqCst) != lead && lead {
                woken += 1;
            }
        }
        drop(started);
        for _ in 0..woken {
            self.notify_one();
        }
    }

    /// Called by a new worker thread: publishes its remote half.
    pub(super) fn register(&self, remote: &'static Remote) {
        self.workers[remote.index].set(remote).expect("worker index registered twice");
        // SeqCst pairs with the SeqCst load in `num_started`: whoever sees
        // the new count finds the worker's remote half set (the `OnceLock`
        // above publishes it).
        self.num_started.fetch_max(remote.index + 1, Ordering::SeqCst);
    }

    /// The remote half of worker `index`, if its thread has started.
    pub(super) fn worker(&self, index: usize) -> Option<&'static Remote> {
        self.workers.get(index)?.get().copied()
    }

    /// Number of indices that may hold a started worker.
    pub(super) fn num_started(&self) -> usize {
        // SeqCst pairs with the `fetch_max` in `register`.
        self.num_started.load(Ordering::SeqCst)
    }

    /// `n` fresh goroutine ids, the first returned.
    pub(super) fn take_ids(&self, n: u64) -> u64 {
        self.next_id.0.fetch_add(n, Ordering::Relaxed)
    }

    /// A fresh goroutine id for a spawn off the workers.
    fn next_id_outside(&self) -> u64 {
        self.take_ids(1)
    }

    /// Counts a goroutine spawned off the workers; returns its id.
    pub(super) fn spawned_outside(&self) -> u64 {
        self.spawned_outside.fetch_add(1, Ordering::Relaxed);
        self.next_id_outside()
    }

    /// Live goroutines: spawned and not finished (Go's `NumGoroutine`). Exact
    /// when nothing spawns or finishes meanwhile; otherwise an approximation
    /// that may count a goroutine finishing right now.
    pub(super) fn live(&self) -> usize {
        let workers = || (0..self.num_started()).filter_map(|i| self.worker(i));
        // Finished first: a goroutine counted as finished was spawned before,
        // so the spawn counts read next include it.
        // The Acquire loads pair with the Release stores of `Counts::bump`.
        let finished: usize = workers().map(|w| w.counts.finished.load(Ordering::Acquire)).sum();
        let spawned: usize =
            workers().map(|w| w.counts.spawned.load(Ordering::Acquire)).sum::<usize>()
                + self.spawned_outside.load(Ordering::Acquire);
        spawned.saturating_sub(finished)
    }

    /// Wakes an idle worker that may take shared work, if one is needed.
    /// Wakes a sleeping active worker, if any, whatever the searching count
    /// (the netpoller needs an owner: an idle worker will take it).
    pub(super) fn wake_idle_worker(&self) {
        self.idle.wake_any(|i| {
            if self.is_active(i) { self.worker(i).map(|w| &w.sleeper) } else { None }
        });
    }

    pub(super) fn notify_one(&self) {
        self.idle.notify_one(|i| self.shared_sleeper(i));
    }

    /// Worker `index`'s sleeper, if the worker takes shared work: whom a
    /// wake-up for shared work may choose.
    pub(super) fn shared_sleeper(&self, index: usize) -> Option<&'static Sleeper> {
        if self.takes_shared(index) { self.worker(index).map(|w| &w.sleeper) } else { None }
    }

    /// Makes a goroutine that is not bound to a worker runnable from a thread
    /// that has no worker to give it to.
    pub(super) fn inject(&self, g: GRef) {
        self.injector.push(g);
        self.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_procs;

    #[test]
    fn gomaxprocs_env_parsing_follows_go() {
        // docs/go-semantics.md, 15: a positive integer wins; 0, negative, garbage ignored.
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
