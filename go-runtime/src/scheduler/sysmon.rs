//! sysmon: notices a goroutine that blocks its worker's thread, reports it,
//! and brings in another worker so the rest of the program keeps running.
//!
//! A goroutine that calls `std::thread::sleep`, does blocking I/O or loops
//! without yielding keeps its worker thread; cooperative scheduling cannot
//! take it back. Every 10 ms sysmon reads each active worker's schedule
//! tick and running goroutine (both published by the worker, see
//! `Counts`). A worker seen on the same goroutine at the same tick for
//! 20 ms while blocked in the kernel, or 100 ms while computing, is
//! *stalled*:
//!
//! 1. The stall is reported once, through the hook set with
//!    `runtime::set_stall_hook` (by default a line on stderr naming the
//!    goroutine, its spawn site and how long it has blocked).
//! 2. If work is waiting that another thread could run (the global queue,
//!    or the stalled worker's stealable queue or runnext), the worker is
//!    switched off and another worker (an idle one, or a new thread) is
//!    switched on, so GOMAXPROCS workers keep taking shared work (Go's
//!    hand-off of a P blocked in a syscall). The stalled worker keeps its
//!    thread; when its goroutine returns it runs the goroutines that started
//!    on it (they may not move, docs/design.md "Soundness first") but takes no
//!    shared work until sysmon or `set_gomaxprocs` switches it on again.
//!
//!
//! A worker that stays on one goroutine while *runnable but not running*
//! (under half of the window on a CPU, from `/proc/self/task/<tid>`) is
//! starved by an oversubscribed machine, not stalled: neither reported nor
//! replaced, since another thread would only compete for the same CPUs
//! (without this, a loaded test machine made sysmon start thread after
//! thread). A thread blocked in the kernel, or spinning on a CPU, is.
//!
//! 3. Every period sysmon also wakes a sleeping worker if work has been left
//!    waiting for it (`rescue_idle_work`), a safety net under the wake-up
//!    protocol.
//!
//! 4. Between periods, every 1 ms while some worker runs a goroutine, it
//!    asks a worker to switch goroutines at the next runtime call if its
//!    goroutine has run 10 ms or it has a timer due (`ask_to_switch`,
//!    `preempt.rs`; README, "Fairness").
//!
//! Goroutines that started on a stalled worker wait for it: that is what
//! `runtime::blocking` is for, and what migration mode lifts.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::global::Runtime;
use super::{netpoll, park, preempt, threads};
use crate::{clock, trace};

/// How often sysmon looks.
const PERIOD: Duration = Duration::from_millis(10);
/// How often sysmon looks, between its periods, at workers running
/// goroutines (for timers they cannot fire, and goroutines that ran too
/// long): a sleeper on a busy worker wakes at most this late, plus the time
/// to the running goroutine's next runtime call.
const NAP: Duration = Duration::from_millis(1);
/// How long a worker may stay blocked in the kernel on one goroutine
/// before it counts as stalled.
const STALL: Duration = Duration::from_millis(20);
/// How long a goroutine may compute without yielding before its worker
/// counts as stalled.
const BUSY_STALL: Duration = Duration::from_millis(100);

/// A goroutine that kept its worker's thread from scheduling, as reported to
/// the hook set with [`set_stall_hook`](crate::runtime::set_stall_hook).
///
/// # Example
/// ```
/// go::runtime::set_stall_hook(|s: &go::runtime::Stall| {
///     eprintln!("slow goroutine {} from {}", s.goroutine, s.spawn_site);
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stall {
    /// The goroutine's id.
    pub goroutine: u64,
    /// Where it was spawned.
    pub spawn_site: &'static Location<'static>,
    /// How long it had kept its thread when reported.
    pub blocked_for: Duration,
    /// The worker (P) it blocked.
    pub worker: usize,
    /// Whether its thread was computing on its CPU (a loop with no runtime
    /// call) rather than blocked in the kernel (a blocking call).
    pub computing: bool,
}

/// The hook, or `None` for the default report on stderr.
type Hook = Box<dyn Fn(&Stall) + Send + Sync + 'static>;
static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Replaces the stall report hook (see [`Stall`]).
pub(super) fn set_hook(hook: Hook) {
    *HOOK.write() = Some(hook);
}

/// Set once the process is printing a crash report and about to exit: the
/// report itself may take a while (symbolizing a stack), which is no stall.
static CRASHING: AtomicBool = AtomicBool::new(false);

/// Stops stall reports for good (the process is about to exit).
pub(super) fn begin_crash() {
    CRASHING.store(true, Ordering::Relaxed);
}

fn report(stall: &Stall) {
    if CRASHING.load(Ordering::Relaxed) {
        return;
    }
    match &*HOOK.read() {
        Some(h) => h(stall),
        None if stall.computing => eprintln!(
            "go: goroutine {} (spawned at {}) has kept worker {} for {} ms without a scheduling \
             point; let a long computation call go::runtime::gosched now and then",
            stall.goroutine,
            stall.spawn_site,
            stall.worker,
            stall.blocked_for.as_millis()
        ),
        None => eprintln!(
            "go: goroutine {} (spawned at {}) has blocked worker {} for {} ms; run blocking \
             calls through go::runtime::blocking",
            stall.goroutine,
            stall.spawn_site,
            stall.worker,
            stall.blocked_for.as_millis()
        ),
    }
}

/// What sysmon last saw of one worker.
#[derive(Clone, Copy)]
struct Seen {
    /// Its schedule tick.
    tick: u32,
    /// The goroutine it ran (0: none).
    goroutine: u64,
    /// When this (tick, goroutine) was first seen.
    since: Instant,
    /// Already reported (and handed off if needed).
    reported: bool,
    /// The worker thread's CPU time (ns) and when it was read, taken at the
    /// first period's look after `since` (so a worker that keeps scheduling
    /// costs no read of `/proc`).
    cpu_mark: Option<(u64, Instant)>,
}

impl Seen {
    /// Records that worker slot `slot` is at `tick` running `goroutine`
    /// (0: none) at `now`; starts a new sighting if that changed. Returns
    /// the sighting, and whether it is the one seen before.
    fn observe(
        slot: &mut Option<Seen>,
        tick: u32,
        goroutine: u64,
        now: Instant,
    ) -> (&mut Seen, bool) {
        let same = slot.is_some_and(|s| s.tick == tick && s.goroutine == goroutine);
        if !same {
            *slot = Some(Seen { tick, goroutine, since: now, reported: false, cpu_mark: None });
        }
        (slot.as_mut().expect("set above"), same)
    }
}

/// What a stalled worker thread is doing, from `/proc` (Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThreadState {
    /// Blocked in the kernel (sleeping, waiting for I/O): a blocking call.
    Blocked,
    /// Running and getting the CPU: a loop that does not yield.
    Busy,
    /// Runnable but mostly waiting for a CPU: the machine is oversubscribed
    /// and the worker is not the problem; another thread would not help.
    Starved,
}

/// Nanoseconds of CPU the thread `tid` has used.
fn cpu_ns(tid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Classifies a worker thread seen on one goroutine for `window`, having
/// used `cpu_delta` ns of CPU meanwhile.
fn classify(tid: i32, window: Duration, cpu_delta: u64) -> ThreadState {
    match thread_state(tid) {
        Some('R') if u128::from(cpu_delta) * 2 < window.as_nanos() => ThreadState::Starved,
        Some('R') | None => ThreadState::Busy,
        Some(_) => ThreadState::Blocked,
    }
}

/// Starts the sysmon thread.
pub(super) fn start(rt: &'static Runtime) {
    threads::count_runtime_thread();
    std::thread::Builder::new()
        .name("go-sysmon".into())
        .spawn(move || run(rt))
        .unwrap_or_else(|e| panic!("go: cannot start the sysmon thread: {e}"));
}

fn run(rt: &'static Runtime) {
    // What sysmon last saw of each worker: updated at every nap while some
    // worker is busy, and at every period.
    let mut seen: Vec<Option<Seen>> = Vec::new();
    let mut waiting_before = false;
    // Per worker: whether its thread was seen out of its CPU at the last
    // look (`look_for_a_spare_cpu`).
    let mut off_before: Vec<bool> = Vec::new();
    loop {
        // Between the period's duties, look every NAP while some worker
        // runs a goroutine: ask it to switch if it has a timer due or has
        // run one goroutine too long (`preempt.rs`).
        let period_end = Instant::now() + PERIOD;
        loop {
            let now = Instant::now();
            if now >= period_end {
                break;
            }
            let busy = ask_to_switch(rt, &mut seen, now);
            if busy {
                look_for_a_spare_cpu(rt, &mut off_before);
            }
            std::thread::sleep(if busy { NAP.min(period_end - now) } else { period_end - now });
        }
        waiting_before = rescue_idle_work(rt, waiting_before);
        // The network, if no worker has polled it for a period (all busy).
        if let Some(np) = netpoll::active()
            && !np.has_owner()
            && clock::coarse_now().saturating_sub(np.last_poll()) >= 10
        {
            np.poll(Some(Duration::ZERO));
        }
        let n = rt.num_started();
        seen.resize(n, None);
        for (i, slot) in seen.iter_mut().enumerate() {
            let Some(w) = rt.worker(i) else { continue };
            let tick = w.counts.schedtick.load(Ordering::Relaxed);
            let goroutine = w.counts.running.load(Ordering::Relaxed);
            let now = Instant::now();
            let tid = w.tid.load(Ordering::Relaxed);
            let (s, same) = Seen::observe(slot, tick, goroutine, now);
            if !same || goroutine == 0 {
                continue;
            }
            let blocked_for = now - s.since;
            let Some((cpu_then, marked)) = s.cpu_mark else {
                s.cpu_mark = Some((cpu_ns(tid).unwrap_or(0), now));
                continue;
            };
            if blocked_for < STALL {
                continue;
            }
            // The stalled worker cannot fire its own timers: do it here. A
            // woken goroutine that started there goes to its inbox (it has
            // to wait); a migratable or unstarted one can run elsewhere.
            w.fire_timers(park::ready);
            if !rt.is_active(i) {
                continue;
            }
            // A worker that is runnable but barely got the CPU is a victim
            // of an oversubscribed machine (a test harness running many
            // tests on two cores): another thread would compete for the
            // same CPUs, so neither report nor hand off; look again later.
            // A goroutine computing on its CPU gets a longer slice than one
            // blocked in the kernel: handing its work to a new thread adds a
            // thread competing for the same CPUs (Go would preempt it), so
            // it is worth it only for a long computation.
            // A wait for a runtime lock is over as soon as its holder's
            // thread runs: nobody to report, nothing to hand off.
            if w.counts.internal_wait.load(Ordering::Relaxed) != 0 {
                continue;
            }
            if !s.reported {
                let used = cpu_ns(tid).map_or(u64::MAX, |c| c.saturating_sub(cpu_then));
                let computing = match classify(tid, now - marked, used) {
                    ThreadState::Starved => continue,
                    ThreadState::Busy if blocked_for < BUSY_STALL => continue,
                    ThreadState::Busy => true,
                    ThreadState::Blocked => false,
                };
                s.reported = true;
                let site = w.counts.running_site.load(Ordering::Relaxed);
                if !site.is_null() {
                    // SAFETY: the pointer came from a `&'static Location`.
                    let spawn_site: &'static Location<'static> = unsafe { &*site };
                    report(&Stall { goroutine, spawn_site, blocked_for, worker: i, computing });
                    trace::emit(trace::Kind::Stall, goroutine, i as u64, 0);
                }
            }
            let waiting =
                !rt.injector.is_empty() || !w.stealer.is_empty() || w.runnext.steal_hint();
            if waiting {
                trace::emit(trace::Kind::Handoff, 0, i as u64, 0);
                rt.replace(i);
            }
        }
    }
}

/// Asks each worker running a goroutine to switch goroutines at its next
/// runtime call if that goroutine has run for [`preempt::AFTER`] (since the
/// sighting in `seen`), or if the worker has a timer due (it fires timers
/// only between goroutines). Returns whether any worker runs a goroutine.
fn ask_to_switch(rt: &'static Runtime, seen: &mut Vec<Option<Seen>>, now: Instant) -> bool {
    seen.resize(rt.num_started(), None);
    let mut busy = false;
    for (i, slot) in seen.iter_mut().enumerate() {
        let Some(w) = rt.worker(i) else { continue };
        let goroutine = w.counts.running.load(Ordering::Relaxed);
        if goroutine == 0 {
            continue;
        }
        busy = true;
        let tick = w.counts.schedtick.load(Ordering::Relaxed);
        let since = Seen::observe(slot, tick, goroutine, now).0.since;
        let timer_due =
            || w.timers.try_lock().and_then(|t| t.next_deadline()).is_some_and(|t| t <= now);
        if preempt::sysmon_asks() && (now - since >= preempt::AFTER || timer_due()) {
            if trace::on() && !w.counts.preempt.load(Ordering::Relaxed) {
                trace::emit(trace::Kind::Preempt, goroutine, i as u64, 0);
            }
            preempt::request(&w.counts.preempt);
        }
    }
    busy
}

/// The safety net under the wake-up protocol: work that any active worker
/// could run has been waiting a whole period while active workers sleep, or
/// a sleeping worker's inbox holds goroutines: wake a worker. (The protocol
/// in README.md should make this unnecessary; it bounds the cost of any
/// wake-up it misses to one period instead of a hang.)
///
/// Returns whether shared work was waiting now; a worker is woken for it
/// only if it was waiting at the previous look too.
fn rescue_idle_work(rt: &'static Runtime, waiting_before: bool) -> bool {
    let n = rt.num_started();
    let mut shared_work = !rt.injector.is_empty();
    for i in 0..n {
        let Some(w) = rt.worker(i) else { continue };
        if !w.inbox.is_empty() && w.sleeper.is_sleeping() {
            rt.idle.notify_worker(i, &w.sleeper);
        }
        shared_work |= !w.stealer.is_empty() || w.runnext.steal_hint();
    }
    if shared_work && waiting_before {
        rt.idle.wake_any(|i| rt.shared_sleeper(i));
    }
    shared_work
}

/// With more workers than CPUs only the first `cpus` workers take shared
/// work (`Runtime::takes_shared`), but a worker whose goroutine blocks its
/// thread in the kernel uses no CPU. So at each nap, if goroutines that any
/// worker may run wait (in the global queue or an awake worker's stealable
/// queue), count the awake workers that have a CPU: all but those running
/// a goroutine whose thread was out of state `R` in `/proc` at this look
/// and the one before (`off_before`, per worker), so that a moment in the
/// kernel (a wait for a contended lock) does not count. While they are
/// fewer than the CPUs every active worker takes shared work, and one more
/// is woken for it (README, "More workers than CPUs").
fn look_for_a_spare_cpu(rt: &'static Runtime, off_before: &mut Vec<bool>) {
    if !rt.crowded() {
        return;
    }
    let n = rt.num_started();
    off_before.resize(n, false);
    let awake = |i: usize| rt.worker(i).filter(|w| !w.sleeper.is_sleeping());
    let waiting = !rt.injector.is_empty()
        || (0..n).filter_map(awake).any(|w| !w.stealer.is_empty() || w.runnext.steal_hint());
    if !waiting {
        off_before.fill(false);
        rt.spare_cpu.store(false, Ordering::Relaxed);
        return;
    }
    let mut on_cpu = 0;
    for (i, before) in off_before.iter_mut().enumerate() {
        let Some(w) = awake(i) else {
            *before = false;
            continue;
        };
        let off = w.counts.running.load(Ordering::Relaxed) != 0
            && thread_state(w.tid.load(Ordering::Relaxed)).is_some_and(|c| c != 'R');
        if !(off && *before) {
            on_cpu += 1;
        }
        *before = off;
    }
    let spare = on_cpu < rt.cpus;
    // Relaxed: a hint for `takes_shared`; the wake-up below is what makes
    // a worker look.
    rt.spare_cpu.store(spare, Ordering::Relaxed);
    if spare {
        rt.notify_one();
    }
}

/// The state letter of thread `tid` in `/proc` (`R` running or runnable,
/// `S` sleeping, `D` in uninterruptible wait, ...), if it can be read.
fn thread_state(tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The state is the first field after the parenthesised name.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next())
}
