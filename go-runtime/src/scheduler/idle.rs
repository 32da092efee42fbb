//! Idle workers: who sleeps, who searches, and how new work wakes one.
//!
//! The protocol (numbered steps, the race it prevents, a proof sketch) is in
//! `README.md` beside this file, section "Parking and waking workers".
//!
//! # Invariant
//! If a goroutine is runnable, then a worker that may run it is running, is
//! searching, or has been unparked (README, "The invariant").
//!
//! `sleepers` (under its lock) lists exactly the workers whose `sleeping`
//! flag is set; `num_sleeping` mirrors its length for lock-free reads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::thread::Thread;

use parking_lot::Mutex;

use super::netpoll;

/// The part of a worker other threads use to wake it.
#[derive(Debug)]
pub(super) struct Sleeper {
    /// Set (under the `sleepers` lock) while the worker is registered as
    /// asleep; cleared by whoever removes it from the list.
    sleeping: AtomicBool,
    /// The worker's thread, for `unpark`.
    thread: Thread,
}

impl Sleeper {
    /// The sleeper record of the calling worker thread.
    pub(super) fn for_current_thread() -> Self {
        Sleeper { sleeping: AtomicBool::new(false), thread: std::thread::current() }
    }

    /// Whether the worker is registered as asleep. Callers that act on a false
    /// answer must have made their work visible and issued a SeqCst fence
    /// first (step W2 of the README).
    pub(super) fn is_sleeping(&self) -> bool {
        // SeqCst pairs with the SeqCst stores of `sleeping` below and with
        // the fences of S1 and W2: all in the protocol's one total order.
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Wakes the worker's thread (a token: harmless if it is awake), also
    /// out of `epoll_wait` if it owns the netpoller.
    pub(super) fn unpark(&self) {
        self.thread.unpark();
        if let Some(np) = netpoll::started()
            && np.owned_by(self)
        {
            np.wake();
        }
    }
}

/// Counts and the list of sleeping workers.
#[derive(Debug, Default)]
pub(super) struct Idle {
    /// Indices of workers registered as asleep, most recent last.
    sleepers: Mutex<Vec<usize>>,
    /// `sleepers.len()`, readable without the lock.
    num_sleeping: AtomicUsize,
    /// Workers looking for work (not running a goroutine, not asleep).
    num_searching: AtomicUsize,
}

impl Idle {
    /// Whether a searching worker should go on spinning, out of `started`
    /// workers on a machine with `cpus` CPUs for us. Another worker must be
    /// awake (it may make work for the caller, such as the reply to a
    /// message the caller's goroutine just sent); searchers (the caller among
    /// them) may be at most half of the awake workers, but two may always
    /// search (Go's rule in `findRunnable` is `2*nmspinning <
    /// gomaxprocs-npidle`; README, "Spinning", says why two); and the awake
    /// workers may not outnumber the CPUs: past that a spinner only takes a
    /// CPU from a worker that has work (README, "Spinning").
    pub(super) fn may_spin(&self, started: usize, cpus: usize) -> bool {
        let awake = started.saturating_sub(self.num_sleeping.load(Ordering::Relaxed));
        let searching = self.num_searching.load(Ordering::Relaxed);
        awake >= 2 && searching <= (awake / 2).max(2) && awake <= cpus
    }

    /// Whether all `started` workers are registered as asleep.
    pub(super) fn all_asleep(&self, started: usize) -> bool {
        // SeqCst pairs with the SeqCst stores of `num_sleeping` below (the
        // deadlock check's trigger: all workers asleep).
        self.num_sleeping.load(Ordering::SeqCst) >= started
    }

    /// A worker with no local work starts searching other queues.
    pub(super) fn start_searching(&self) {
        // SeqCst pairs with the SeqCst load of `num_searching` in
        // `notify_one` (W3; README, proof point 2).
        self.num_searching.fetch_add(1, Ordering::SeqCst);
    }

    /// A searching worker found work. Returns true if it was the last
    /// searcher: it should then wake another worker, since the queue it took
    /// from may hold more (README, step S4).
    pub(super) fn stop_searching(&self) -> bool {
        // SeqCst pairs with the SeqCst load of `num_searching` in
        // `notify_one`: as in `start_searching`.
        self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Step S1: registers worker `index` as asleep and stops it searching.
    /// The caller must then re-check every queue (step S2) before parking.
    pub(super) fn register_sleeper(&self, index: usize, me: &Sleeper, searching: bool) {
        {
            let mut list = self.sleepers.lock();
            list.push(index);
            // SeqCst pairs with the loads of W2 (`is_sleeping`, `num_sleeping` in
            // `notify_one`), ordered after this by the fence below.
            me.sleeping.store(true, Ordering::SeqCst);
            self.num_sleeping.store(list.len(), Ordering::SeqCst);
        }
        if searching {
            // SeqCst pairs with the load of `num_searching` in `notify_one`:
            // the decrement comes before our fence (README, proof point 2).
            self.num_searching.fetch_sub(1, Ordering::SeqCst);
        }
        // Pairs with the fence in `notify_one` / `notify_worker` (README S2/W2).
        fence(Ordering::SeqCst);
    }

    /// Step S3': the re-check found work, or the park timed out: removes the
    /// worker from the list if nobody did yet. Returns true if the worker was
    /// still registered (it was not woken by anyone).
    pub(super) fn unregister_sleeper(&self, index: usize, me: &Sleeper) -> bool {
        self.take_listed(&mut self.sleepers.lock(), index, me)
    }

    /// Under the `sleepers` lock (`list`): removes worker `index`, whose
    /// sleeper is `s`, if it is still registered; returns whether it was.
    fn take_listed(&self, list: &mut Vec<usize>, index: usize, s: &Sleeper) -> bool {
        if !s.sleeping.load(Ordering::Relaxed) {
            return false;
        }
        let at = list.iter().rposition(|&i| i == index).expect("registered sleeper is listed");
        list.swap_remove(at);
        // SeqCst pairs with the loads of W2, as in `register_sleeper`.
        s.sleeping.store(false, Ordering::SeqCst);
        self.num_sleeping.store(list.len(), Ordering::SeqCst);
        true
    }

    /// Steps W1-W3 for work any worker may run: wakes one sleeping worker
    /// among those that `eligible` accepts, unless a worker is already
    /// searching (it will find the work, README S2) or none sleeps.
    ///
    /// The caller has already made the work visible (pushed it).
    pub(super) fn notify_one(&self, sleepers: impl Fn(usize) -> Option<&'static Sleeper>) {
        // W2: pairs with the fence in `register_sleeper`.
        fence(Ordering::SeqCst);
        if self.num_searching.load(Ordering::SeqCst) != 0
            || self.num_sleeping.load(Ordering::SeqCst) == 0
        {
            return;
        }
        // W3: the woken worker counts as searching from now on, so that a
        // burst of pushes wakes one worker, not all.
        self.wake_any(sleepers);
    }

    /// Wakes an eligible sleeping worker (the most recent), counting it as
    /// searching; `notify_one` after its checks, and sysmon's safety net
    /// regardless of the searching count. Returns whether one was woken.
    pub(super) fn wake_any(&self, sleepers: impl Fn(usize) -> Option<&'static Sleeper>) -> bool {
        let woken = {
            let mut list = self.sleepers.lock();
            // `sleepers` is asked once per worker: its answer may change
            // meanwhile (which workers take shared work does).
            let Some((at, s)) =
                list.iter().enumerate().rev().find_map(|(at, &i)| Some((at, sleepers(i)?)))
            else {
                return false;
            };
            list.swap_remove(at);
            // SeqCst pairs with the loads of W2 and of the woken worker's
            // `unregister_sleeper` (which takes the same lock).
            s.sleeping.store(false, Ordering::SeqCst);
            self.num_sleeping.store(list.len(), Ordering::SeqCst);
            self.num_searching.fetch_add(1, Ordering::SeqCst);
            s
        };
        woken.unpark();
        true
    }

    /// Steps W1-W3 for work only worker `index` may run (its inbox): wakes it
    /// if it is asleep.
    pub(super) fn notify_worker(&self, index: usize, s: &Sleeper) {
        // W2: pairs with the fence in `register_sleeper`.
        fence(Ordering::SeqCst);
        if !s.sleeping.load(Ordering::SeqCst) {
            return;
        }
        {
            let mut list = self.sleepers.lock();
            if !self.take_listed(&mut list, index, s) {
                return;
            }
            // Counted as searching (W3) before the lock is released: the
            // woken worker's `unregister_sleeper` takes the lock, so it
            // cannot stop searching before this count exists.
            // SeqCst pairs with the load in `notify_one` (W3).
            self.num_searching.fetch_add(1, Ordering::SeqCst);
        }
        s.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(sleeping: usize, searching: usize) -> Idle {
        let i = Idle::default();
        i.num_sleeping.store(sleeping, Ordering::Relaxed);
        i.num_searching.store(searching, Ordering::Relaxed);
        i
    }

    #[test]
    fn spinning_needs_another_awake_worker_and_a_free_cpu() {
        // Alone awake: nobody can make work for a spinner.
        assert!(!idle(1, 1).may_spin(2, 2));
        // Two workers ping-ponging goroutines on two CPUs: both may search
        // (README, "Spinning": with Go's rule one parked, for good).
        assert!(idle(0, 2).may_spin(2, 2));
        // Eight awake on two CPUs: a spinner takes a CPU from a busy worker.
        assert!(!idle(0, 1).may_spin(8, 2));
        assert!(idle(6, 1).may_spin(8, 2));
        // Many idle workers on many CPUs: at most half the awake ones search.
        assert!(idle(0, 32).may_spin(64, 64));
        assert!(!idle(0, 33).may_spin(64, 64));
    }

    /// Whether a sleeper may take the work can change while `wake_any`
    /// looks (sysmon flips which workers take shared work every
    /// millisecond with more workers than CPUs): it must ask once per
    /// worker. Asking again after choosing panicked the waking worker
    /// ("checked above") in a GOMAXPROCS=8 run of the test suite.
    #[test]
    fn a_sleeper_is_judged_once_when_woken() {
        let i = Idle::default();
        let s: &'static Sleeper = Box::leak(Box::new(Sleeper::for_current_thread()));
        i.register_sleeper(0, s, false);
        let asked = std::cell::Cell::new(0);
        // Eligible the first time it is asked only.
        let woke = i.wake_any(|_| {
            asked.set(asked.get() + 1);
            (asked.get() == 1).then_some(s)
        });
        assert!(woke);
        assert_eq!(asked.get(), 1);
        assert!(!s.is_sleeping());
        assert_eq!(i.num_sleeping.load(Ordering::Relaxed), 0);
    }
}
