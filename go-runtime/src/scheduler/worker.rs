//! The worker loop: find a runnable goroutine, run it, repeat.
//!
//! The search order is `Worker::find_runnable`, top to bottom (README,
//! "Where a worker looks for work"). Everything in [`Worker`] is touched only
//! by its own thread; other threads reach a worker through its
//! [`Remote`] half.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_deque::{Steal, Worker as LocalQueue};

use super::global::Runtime;
use super::idle::Sleeper;
use super::remote::{CachePadded, Counts, Remote};
use super::runnext::RunNext;
use super::timers::{Fire, Timers};
use super::{deadlock, netpoll, preempt, registry};
use crate::coroutine::{self, GRef, Goroutine, Resumed, StackCache, Suspend};
use crate::{clock, trace};

/// Go checks the global queue first every 61st schedule tick, so that
/// goroutines there are not starved by two that keep waking each other.
const GLOBAL_QUEUE_PERIOD: u32 = 61;
/// A worker publishes how many goroutines it has queued (`Counts::queued`)
/// every this many ticks.
const LOAD_PERIOD: u32 = 8;
/// `balance` takes goroutines from a worker only if it has queued at least
/// this many more than the caller.
const BALANCE_SLACK: usize = 4;
/// Consecutive runnext picks before the queues get a turn: two goroutines
/// that wake each other through runnext cannot starve the rest.
const RUNNEXT_STREAK_MAX: u32 = 32;
/// Steal attempts an idle worker makes before it parks, while another worker
/// is awake (about 100 us in all).
const SPIN_ROUNDS: u32 = 256;
/// `spin_loop` hints between two steal attempts (a few hundred ns).
const SPIN_PAUSES: u32 = 8;
/// Timers are checked every this many ticks while there is other work.
const TIMER_CHECK_PERIOD: u32 = 16;

thread_local! {
    /// The worker of this thread, or null off the runtime's threads.
    static WORKER: Cell<*const Worker> = const { Cell::new(std::ptr::null()) };
}

/// The worker running on this thread, if this is a worker thread.
///
/// Never inlined: code running on a goroutine calls it, and a goroutine that
/// migrates must not see a thread-local address cached from before a switch
/// (docs/design.md, "Soundness first"; rust-lang/rust#33368).
#[inline(never)]
pub(super) fn current() -> Option<&'static Worker> {
    let p = WORKER.with(Cell::get);
    // SAFETY: the pointer is null or comes from `Box::leak` in `run` and is
    // never freed: worker threads never exit.
    unsafe { p.as_ref() }
}

/// A worker thread's private state (Go's `m` plus the owner half of its `p`).
#[derive(Debug)]
pub(super) struct Worker {
    /// The global runtime.
    rt: &'static Runtime,
    /// The half other threads see.
    remote: &'static Remote,
    /// Unstarted (or migratable) goroutines: FIFO, stealable.
    local: LocalQueue<GRef>,
    /// Started goroutines bound to this worker that are runnable: FIFO, never
    /// stolen.
    pinned: RefCell<VecDeque<GRef>>,
    /// Schedule ticks: one per goroutine run.
    tick: Cell<u32>,
    /// Consecutive runnext picks.
    runnext_streak: Cell<u32>,
    /// Whether this worker is counted in `Idle::num_searching`.
    searching: Cell<bool>,
    /// xorshift state for choosing steal victims.
    rng: Cell<u64>,
    /// Free goroutine stacks.
    pub(super) stacks: RefCell<StackCache>,
    /// Finished goroutines whose allocation spawn can reuse (Go's `gFree`).
    recycled: RefCell<Vec<GRef>>,
    /// Goroutine ids reserved for spawns on this worker: `(next, end)` (Go's
    /// `goidcache`).
    ids: Cell<(u64, u64)>,
    /// A victim whose runnext this worker saw stealable, and when.
    runnext_seen: Cell<Option<RunnextSeen>>,
    /// Fire due timers at the next schedule (sysmon asked this worker to
    /// switch goroutines, perhaps for a timer it could not fire).
    timers_now: Cell<bool>,
    /// The schedule tick a goroutine's self-check first saw, and when
    /// (`should_switch`).
    run_seen: Cell<Option<(u32, Instant)>>,
}

/// How long a victim must stay on one goroutine, its heartbeat moving,
/// before its runnext may be stolen (Go sleeps 3 us before stealing a
/// running P's runnext).
const RUNNEXT_STEAL_DELAY: std::time::Duration = std::time::Duration::from_micros(3);
/// How long a victim must stay on one goroutine without runtime calls
/// (computing, or its thread off the CPU) before its runnext may be stolen.
const RUNNEXT_STEAL_QUIET: std::time::Duration = std::time::Duration::from_millis(20);

/// A victim's runnext seen stealable: the victim, its schedule tick, its
/// heartbeat at the last look, how many looks saw the heartbeat move, and
/// when it was first seen.
#[derive(Debug, Clone, Copy)]
struct RunnextSeen {
    victim: usize,
    tick: u32,
    beat: u32,
    progress: u8,
    since: Instant,
}

/// How many goroutine ids a worker reserves at once.
const ID_BATCH: u64 = 64;

/// Finished goroutines a worker keeps for reuse; past this, half go to the
/// runtime's shared list (Go's `gFree` local and global lists).
const RECYCLED_MAX: usize = 256;
/// How many a worker with none takes from the shared list at once.
const RECYCLED_BATCH: usize = 32;

/// The body of worker thread `index`.
pub(super) fn run(rt: &'static Runtime, index: usize) {
    coroutine::ensure_alt_stack();
    let local = LocalQueue::new_fifo();
    let remote: &'static Remote = Box::leak(Box::new(Remote {
        index,
        runnext: RunNext::default(),
        stealer: local.stealer(),
        inbox: Default::default(),
        sleeper: Sleeper::for_current_thread(),
        counts: CachePadded::default(),
        // SAFETY: `gettid` has no preconditions.
        tid: std::sync::atomic::AtomicI32::new(unsafe { libc::gettid() }),
        registry: Default::default(),
        parked_for_good: Default::default(),
        timers: parking_lot::Mutex::new(Timers::default()),
    }));
    let worker: &'static Worker = Box::leak(Box::new(Worker {
        rt,
        remote,
        local,
        pinned: RefCell::new(VecDeque::new()),
        tick: Cell::new(0),
        runnext_streak: Cell::new(0),
        searching: Cell::new(false),
        rng: Cell::new(
            0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        ),
        stacks: RefCell::new(StackCache::default()),
        recycled: RefCell::new(Vec::new()),
        ids: Cell::new((0, 0)),
        runnext_seen: Cell::new(None),
        timers_now: Cell::new(false),
        run_seen: Cell::new(None),
    }));
    WORKER.with(|w| w.set(worker));
    trace::set_worker(index);
    rt.register(remote);
    loop {
        let g = worker.find_runnable();
        worker.set_searching(false);
        worker.execute(g);
    }
}

impl Worker {
    /// This worker's index (its P's id).
    pub(super) fn index(&self) -> usize {
        self.remote.index
    }

    /// Whether this worker's index is below GOMAXPROCS.
    pub(super) fn is_active(&self) -> bool {
        self.rt.is_active(self.remote.index)
    }

    /// Whether this worker takes shared work (`Runtime::takes_shared`).
    fn takes_shared(&self) -> bool {
        self.rt.takes_shared(self.remote.index)
    }

    /// Counts a goroutine spawned on this worker; returns its id.
    pub(super) fn spawned(&self) -> u64 {
        Counts::bump(&self.remote.counts.spawned);
        let (mut next, mut end) = self.ids.get();
        if next == end {
            next = self.rt.take_ids(ID_BATCH);
            end = next + ID_BATCH;
        }
        self.ids.set((next + 1, end));
        next
    }

    /// A finished goroutine's allocation for `spawn` to reuse.
    pub(super) fn take_recycled(&self) -> Option<GRef> {
        let mut recycled = self.recycled.borrow_mut();
        if recycled.is_empty() {
            let mut shared = self.rt.recycled.lock();
            let at = shared.len().saturating_sub(RECYCLED_BATCH);
            recycled.extend(shared.drain(at..));
        }
        recycled.pop()
    }

    /// How many goroutines wait in the local (stealable) queue.
    pub(super) fn local_len(&self) -> usize {
        self.local.len()
    }

    /// Runs `g` until it suspends or finishes, then files it accordingly.
    fn execute(&self, g: GRef) {
        let counts = &self.remote.counts;
        counts.running_site.store(
            g.spawn_site() as *const _ as *mut std::panic::Location<'static>,
            Ordering::Relaxed,
        );
        counts.running.store(g.id(), Ordering::Relaxed);
        if trace::on() {
            trace::emit(trace::Kind::Start, g.id(), 0, 0);
        }
        // SAFETY: we took `g` from a run queue, so we are its unique holder;
        // every queue this worker pops holds only goroutines that are
        // unstarted, migratable, or homed here (see `ready` and `push_back`).
        let r = unsafe { g.resume(self.remote.index as u32, &self.stacks) };
        counts.running.store(0, Ordering::Relaxed);
        if trace::on() {
            let (stop, why) = match r {
                Resumed::Suspended(Suspend::Yield) => (trace::Stop::Yield, 0),
                Resumed::Suspended(Suspend::Park) => (trace::Stop::Park, g.wait_reason().0 as u8),
                Resumed::Finished => (trace::Stop::Finish, 0),
            };
            trace::emit(trace::Kind::Stop, g.id(), stop as u64, why);
        }
        if preempt::withdraw(&counts.preempt) {
            // Asked to switch: perhaps for a timer it could not fire.
            self.timers_now.set(true);
        }
        match r {
            Resumed::Suspended(Suspend::Yield) => self.push_back(g),
            Resumed::Suspended(Suspend::Park) => {
                // A goroutine joins the registry the first time it parks:
                // one that runs to completion without blocking (most short
                // ones) never pays for it.
                if g.registry().get() == coroutine::NOT_REGISTERED {
                    registry::register(self.remote, &g);
                }
                Goroutine::note_parked(&g);
                if !g.commit_park() {
                    // Woken while it was switching out.
                    self.push_back(g);
                }
                // Else the waker's reference now keeps it alive.
            }
            Resumed::Finished => {
                registry::unregister(&g);
                g.note_finished();
                // SAFETY: unique holder, and it finished.
                let stack = unsafe {
                    g.drop_locals();
                    g.take_stack()
                };
                self.stacks.borrow_mut().give(stack);
                Counts::bump(&self.remote.counts.finished);
                let mut g = g;
                if Goroutine::recyclable(&mut g) {
                    let mut recycled = self.recycled.borrow_mut();
                    recycled.push(g);
                    if recycled.len() > RECYCLED_MAX {
                        let mut shared = self.rt.recycled.lock();
                        let half = recycled.len() / 2;
                        shared.extend(recycled.drain(..half));
                        // Bound the shared list too: free what nobody needs.
                        let cap = RECYCLED_MAX * self.rt.num_started().max(1);
                        if shared.len() > cap {
                            shared.truncate(cap);
                        }
                    }
                }
            }
        }
    }

    /// Queues a runnable goroutine at the back of this worker's queues.
    pub(super) fn push_back(&self, g: GRef) {
        if g.stealable() {
            if self.is_active() {
                self.local.push(g);
                self.rt.notify_one();
            } else {
                self.rt.inject(g);
            }
        } else {
            self.pinned.borrow_mut().push_back(g);
        }
    }

    /// Puts `g` in the runnext slot; what it displaces goes to the back.
    pub(super) fn put_runnext(&self, g: GRef) {
        if let Some(old) = self.remote.runnext.put(g) {
            self.push_back(old);
        }
    }

    /// Finds the next goroutine to run, parking the thread while there is none.
    fn find_runnable(&self) -> GRef {
        loop {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            self.remote.counts.schedtick.store(tick, Ordering::Relaxed);
            if tick.is_multiple_of(LOAD_PERIOD) {
                self.publish_load();
            }
            // 1. Fairness: every 61st tick the global queue goes first;
            // then the balance of goroutines not started yet.
            if tick.is_multiple_of(GLOBAL_QUEUE_PERIOD)
                && self.takes_shared()
                && let Some(g) = self.steal_global().or_else(|| self.balance())
            {
                return g;
            }
            // 2. Timers that are due make their goroutines runnable.
            if tick.is_multiple_of(TIMER_CHECK_PERIOD) || self.timers_now.take() {
                self.fire_timers();
                clock::tick(Instant::now());
            }
            // 3. Goroutines of ours woken by other threads.
            self.drain_inbox();
            // 4. runnext, unless it has had its turn many times in a row.
            if self.runnext_streak.get() < RUNNEXT_STREAK_MAX
                && let Some(g) = self.remote.runnext.take()
            {
                self.runnext_streak.set(self.runnext_streak.get() + 1);
                return g;
            }
            self.runnext_streak.set(0);
            // 5. The local queues, alternating which goes first.
            if let Some(g) = self.pop_local(tick) {
                return g;
            }
            if let Some(g) = self.remote.runnext.take() {
                return g;
            }
            // 6. Nothing local: timers, the global queue, other workers; park.
            if let Some(g) = self.search() {
                return g;
            }
        }
    }

    /// How many goroutines wait in this worker's own queues.
    fn load(&self) -> usize {
        self.pinned.borrow().len() + self.local.len()
    }

    /// Publishes [`Worker::load`] for workers balancing (`Counts::queued`).
    fn publish_load(&self) {
        let load = u32::try_from(self.load()).unwrap_or(u32::MAX);
        // Relaxed: a hint for `balance`.
        self.remote.counts.queued.store(load, Ordering::Relaxed);
    }

    /// Takes goroutines that have not started yet from a worker with more
    /// queued than this one, though this one has goroutines of its own to
    /// run: enough to even the two out, at most half of what it has not
    /// started. A goroutine stays on the worker it first runs on, so a
    /// burst of spawns started by whichever worker happened to be idle
    /// (Go would even them out later by stealing, ours cannot) would keep
    /// one worker busy and the other idle for the rest of their lives
    /// (README, "Balancing new goroutines"). Returns one to run now.
    fn balance(&self) -> Option<GRef> {
        let n = self.rt.num_started();
        if n <= 1 {
            return None;
        }
        let mine = self.load();
        let start = self.next_random() as usize % n;
        for i in (0..n).map(|k| (start + k) % n).filter(|&i| i != self.remote.index) {
            let Some(victim) = self.rt.worker(i) else { continue };
            // Relaxed: a hint, as where it is stored.
            let theirs = victim.counts.queued.load(Ordering::Relaxed) as usize;
            let backlog = victim.stealer.len();
            if theirs < mine + BALANCE_SLACK || backlog == 0 {
                continue;
            }
            let limit = ((theirs - mine) / 2).min(backlog.div_ceil(2)).max(1);
            loop {
                match victim.stealer.steal_batch_with_limit_and_pop(&self.local, limit) {
                    Steal::Success(g) => {
                        if trace::on() {
                            trace::emit(trace::Kind::Steal, g.id(), i as u64, 0);
                        }
                        return Some(g);
                    }
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        None
    }

    fn pop_local(&self, tick: u32) -> Option<GRef> {
        let pinned = || self.pinned.borrow_mut().pop_front();
        if tick & 1 == 0 {
            pinned().or_else(|| self.local.pop())
        } else {
            self.local.pop().or_else(pinned)
        }
    }

    fn drain_inbox(&self) {
        if self.remote.inbox.is_empty() {
            return;
        }
        let mut pinned = self.pinned.borrow_mut();
        loop {
            match self.remote.inbox.steal() {
                Steal::Success(g) => pinned.push_back(g),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
    }

    /// Wakes the goroutines whose timers are due (into runnext, as Go's
    /// `goready` does: a woken sleeper runs next); returns the next deadline.
    fn fire_timers(&self) -> Option<Instant> {
        self.remote.fire_timers(|g| self.put_runnext(g))
    }

    /// The half of this worker other threads see.
    pub(super) fn remote(&self) -> &'static Remote {
        self.remote
    }

    /// Whether the running goroutine should yield now (its self-check,
    /// `preempt::self_check`): a timer of this worker is due (it is fired
    /// at the next schedule), or the goroutine has run since its first
    /// self-check at least [`preempt::AFTER`].
    pub(super) fn should_switch(&self) -> bool {
        let now = Instant::now();
        let due = self.remote.timers.try_lock().and_then(|t| t.next_deadline());
        if due.is_some_and(|t| t <= now) {
            self.timers_now.set(true);
            return true;
        }
        let tick = self.tick.get();
        match self.run_seen.get() {
            Some((seen, since)) if seen == tick => now - since >= preempt::AFTER,
            _ => {
                self.run_seen.set(Some((tick, now)));
                false
            }
        }
    }

    /// Whether sysmon has asked this worker to switch goroutines (called by
    /// its running goroutine, `preempt::yield_if_asked`).
    pub(super) fn asked_to_switch(&self) -> bool {
        self.remote.counts.preempt.load(Ordering::Relaxed)
    }

    /// Adds a timer to this worker's heap.
    pub(super) fn add_timer(&self, deadline: Instant, fire: Fire) {
        self.remote.timers.lock().add(deadline, fire);
    }

    fn steal_global(&self) -> Option<GRef> {
        loop {
            match self.rt.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(g) => {
                    if trace::on() {
                        trace::emit(trace::Kind::Steal, g.id(), u64::MAX, 0);
                    }
                    return Some(g);
                }
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// One pass over the other workers, from a random one: half of a local
    /// queue, or else a stealable runnext.
    fn steal_others(&self) -> Option<GRef> {
        let n = self.rt.num_started();
        if n <= 1 {
            return None;
        }
        let start = self.next_random() as usize % n;
        let mut retry = true;
        while std::mem::take(&mut retry) {
            for k in 0..n {
                let i = (start + k) % n;
                if i == self.remote.index {
                    continue;
                }
                let Some(victim) = self.rt.worker(i) else {
                    continue;
                };
                match victim.stealer.steal_batch_and_pop(&self.local) {
                    Steal::Success(g) => {
                        if trace::on() {
                            trace::emit(trace::Kind::Steal, g.id(), i as u64, 0);
                        }
                        return Some(g);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
        }
        // Runnext last, as Go does, and only once its owner has been busy
        // with one goroutine for a few microseconds: a goroutine that just
        // spawned into runnext is usually about to block and run it, and
        // stealing it at once splits a producer/consumer pair over two
        // threads for good (a started goroutine never moves), so every
        // message between them would cost a cross-thread wake-up.
        // "Busy" must mean running: an owner whose thread the kernel has
        // taken off the CPU also keeps its tick (with more workers than
        // CPUs, one ping-pong run in a hundred was split so, at 100 times
        // the cost). So the owner's heartbeat (a beat every 256 runtime
        // calls, `Counts::heartbeat`) must also have moved twice, or it
        // must have kept the same goroutine for `RUNNEXT_STEAL_QUIET`
        // (computing without runtime calls).
        for i in (0..n).map(|k| (start + k) % n).filter(|&i| i != self.remote.index) {
            let Some(victim) = self.rt.worker(i) else { continue };
            if !victim.runnext.steal_hint() {
                continue;
            }
            let tick = victim.counts.schedtick.load(Ordering::Relaxed);
            let beat = victim.counts.heartbeat.load(Ordering::Relaxed);
            match self.runnext_seen.get() {
                Some(mut seen) if seen.victim == i && seen.tick == tick => {
                    if beat != seen.beat {
                        seen.beat = beat;
                        seen.progress = seen.progress.saturating_add(1);
                        self.runnext_seen.set(Some(seen));
                    }
                    let waited = seen.since.elapsed();
                    // The heartbeat seen moving twice: the owner is running,
                    // not just between one last beat and a park its thread
                    // has not got to yet.
                    let running = seen.progress >= 2 && waited >= RUNNEXT_STEAL_DELAY;
                    if (running || waited >= RUNNEXT_STEAL_QUIET)
                        && let Some(g) = victim.runnext.steal()
                    {
                        self.runnext_seen.set(None);
                        if trace::on() {
                            trace::emit(trace::Kind::Steal, g.id(), i as u64, 0);
                        }
                        return Some(g);
                    }
                }
                _ => self.runnext_seen.set(Some(RunnextSeen {
                    victim: i,
                    tick,
                    beat,
                    progress: 0,
                    since: Instant::now(),
                })),
            }
        }
        None
    }

    fn next_random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    /// Whether any queue this worker may take from looks non-empty (step S2
    /// of the README's protocol).
    fn work_visible(&self) -> bool {
        if !self.remote.inbox.is_empty()
            || !self.local.is_empty()
            || !self.pinned.borrow().is_empty()
            || !self.remote.runnext.is_empty()
        {
            return true;
        }
        if !self.takes_shared() {
            return false;
        }
        if !self.rt.injector.is_empty() {
            return true;
        }
        (0..self.rt.num_started()).filter(|&i| i != self.remote.index).any(|i| {
            self.rt.worker(i).is_some_and(|v| !v.stealer.is_empty() || v.runnext.steal_hint())
        })
    }

    fn set_searching(&self, on: bool) {
        if self.searching.get() == on {
            return;
        }
        self.searching.set(on);
        if on {
            self.rt.idle.start_searching();
        } else if self.rt.idle.stop_searching() {
            // The last searcher found work: there may be more where it came
            // from, so get another worker looking (README, S4).
            self.rt.notify_one();
        }
    }

    /// Instead of parking: if sockets are registered and no worker owns the
    /// netpoller, owns it and blocks in `epoll_wait` until an event, a
    /// wake-up or the next timer (`netpoll.rs`, "Who polls"). Returns
    /// `Some(true)` if this worker should stop sleeping and look at its
    /// queues, `Some(false)` if it polled and should keep waiting, `None` if
    /// it did not poll (the caller parks as usual).
    fn poll_network(&self, me: &Sleeper, next_timer: Option<Instant>) -> Option<bool> {
        let np = netpoll::active()?;
        if !np.try_own(me) {
            return None;
        }
        // A waker that cleared our flag before seeing us as the owner did
        // not write the eventfd: do not block then (`try_own`).
        if !me.is_sleeping() {
            np.disown();
            return Some(true);
        }
        let timeout = next_timer.map(|t| t.saturating_duration_since(Instant::now()));
        np.poll(timeout);
        np.disown();
        // Stop sleeping if the poll gave us work (goroutines homed here go
        // to our runnext or inbox), or a timer is due; else keep waiting.
        Some(self.work_visible() || next_timer.is_some_and(|t| t <= Instant::now()))
    }

    /// Looks for work beyond this worker's own queues, and parks the thread
    /// when there is none. Returns a goroutine, or `None` to make the caller
    /// look at its own queues again.
    fn search(&self) -> Option<GRef> {
        let next_timer = self.fire_timers();
        // Goroutines whose sockets became ready (those homed here land in
        // our runnext or inbox; others in their home's inbox or the global
        // queue).
        if let Some(np) = netpoll::active()
            && !np.has_owner()
        {
            np.poll(Some(std::time::Duration::ZERO));
        }
        if !self.pinned.borrow().is_empty()
            || !self.remote.runnext.is_empty()
            || !self.remote.inbox.is_empty()
        {
            return None;
        }
        if self.takes_shared() {
            self.set_searching(true);
            for round in 0..SPIN_ROUNDS {
                if let Some(g) = self.steal_global().or_else(|| self.steal_others()) {
                    self.set_searching(false);
                    return Some(g);
                }
                // Spin only while another worker is awake (it may spawn
                // more, or wake one of ours) and spinners take no CPU from
                // workers with goroutines to run (README, "Spinning"):
                // parking and being woken costs both threads microseconds
                // (about 25 us a hop measured on this machine), far more
                // than a short spin.
                if !self.remote.inbox.is_empty() {
                    // One of ours was woken: go and run it (still counted as
                    // searching until it runs).
                    return None;
                }
                if round + 1 == SPIN_ROUNDS
                    || !self.rt.idle.may_spin(self.rt.num_started(), self.rt.cpus)
                {
                    break;
                }
                for _ in 0..SPIN_PAUSES {
                    std::hint::spin_loop();
                }
            }
        }
        // S1: announce sleep, S2: look once more, S3: park.
        let idle = &self.rt.idle;
        let me = &self.remote.sleeper;
        let was_searching = self.searching.replace(false);
        idle.register_sleeper(self.remote.index, me, was_searching);
        if was_searching && !self.takes_shared() {
            // Switched off while searching (made inactive, or no longer
            // taking shared work: more workers than CPUs): a pusher may have
            // relied on our search (W3 skips waking anyone while a worker
            // searches), but this worker no longer looks at shared queues.
            // Pass the duty to one that does.
            self.rt.notify_one();
        }
        if self.work_visible() {
            if !idle.unregister_sleeper(self.remote.index, me) {
                // Someone woke us and counted us as searching.
                self.searching.set(true);
            }
            return None;
        }
        clock::tick(Instant::now());
        if trace::on() {
            trace::emit(trace::Kind::Idle, 0, 0, 0);
        }
        let mut check_after = deadlock::FIRST_CHECK;
        while me.is_sleeping() {
            match self.poll_network(me, next_timer) {
                Some(true) => break,
                Some(false) => continue,
                None => {}
            }
            match next_timer {
                Some(t) => {
                    let now = Instant::now();
                    if t <= now {
                        break;
                    }
                    std::thread::park_timeout(t - now);
                }
                None => {
                    // Nothing but another thread can wake us. If every
                    // worker is in that state, look for a deadlock now and
                    // then (`deadlock.rs`).
                    // SeqCst pairs with the SeqCst load in `deadlock::quiet`.
                    self.remote.parked_for_good.store(true, Ordering::SeqCst);
                    if idle.all_asleep(self.rt.num_started()) {
                        std::thread::park_timeout(check_after);
                        if me.is_sleeping() {
                            deadlock::check(self.rt);
                        }
                        check_after = (check_after * 2).min(deadlock::MAX_INTERVAL);
                    } else {
                        std::thread::park();
                    }
                    // SeqCst pairs with the load in `deadlock::quiet`.
                    self.remote.parked_for_good.store(false, Ordering::SeqCst);
                }
            }
        }
        if trace::on() {
            trace::emit(trace::Kind::Wake, 0, 0, 0);
        }
        if !idle.unregister_sleeper(self.remote.index, me) {
            // Woken by `notify_*`, which counted us as searching.
            self.searching.set(true);
        }
        None
    }
}
