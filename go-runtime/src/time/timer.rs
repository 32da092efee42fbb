//! `Timer`, `Ticker`, `after_func`, `tick`: Go's timers with Go 1.23+
//! semantics (docs/go-semantics.md, 52-57).
//!
//! # State (under `state`'s lock)
//! `generation` counts `stop`/`reset` calls; each arming of the timer
//! captures it, and a firing whose generation is stale does nothing. So a
//! stopped or reset timer never delivers a value from its old schedule, and
//! `stop`/`reset` also drain a value that fired but was not received: no
//! stale value is ever seen after them (53).
//!
//! Timers fire from the timer heap of the worker whose goroutine armed them
//! (or from a sleeping goroutine when armed from a plain thread). A firing
//! holds only a `Weak` reference, so a dropped `Timer` or `Ticker` needs no
//! `stop` to be freed (57).
//!
//! `armed` mirrors, outside the lock, the generation whose firing may still
//! deliver (`DISARMED` when none may): the timer heap asks it whether a
//! firing still matters (`Firing::is_live`) and drops a stopped or
//! superseded one unfired, so a `Timer` reset in a loop (an idle timeout
//! pushed back at every message) keeps one entry per live schedule in the
//! heap, not one per reset until each old deadline.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::call_at_inline;
use crate::chan::{Chan, Receiver};
use crate::scheduler::Callback;
use crate::spawn::spawn;

/// What a timer does when it fires.
enum Action {
    /// Put the time in the channel.
    Send,
    /// Run this in a new goroutine (`after_func`).
    Call(Arc<dyn Fn() + Send + Sync>),
}

/// The mutable part of a timer.
struct State {
    /// Bumped by every `stop` and `reset`.
    generation: u64,
    /// Armed and not yet fired (or, for a ticker, not stopped).
    active: bool,
    /// `Some(period)` for a ticker.
    period: Option<Duration>,
}

/// A timer or ticker, shared with its pending firings (through `Weak`).
struct Inner {
    /// The mutable part.
    state: parking_lot::Mutex<State>,
    /// Room for one value; nil for `after_func`.
    tx: Chan<Instant>,
    /// What firing does.
    action: Action,
    /// Made by `tick`: no handle owns it, its firings keep it alive, and it
    /// stops once nobody can receive from its channel.
    self_owned: bool,
    /// The generation whose firing may deliver, or [`DISARMED`] (module
    /// docs); written under `state`'s lock, shared with the firings.
    armed: Arc<AtomicU64>,
}

/// `Inner::armed` when no firing may deliver.
const DISARMED: u64 = u64::MAX;

impl Inner {
    /// Arms a firing at `deadline` for the current generation.
    fn arm(self: &Arc<Self>, deadline: Option<Instant>, generation: u64) {
        let timer = if self.self_owned {
            Held::Strong(self.clone())
        } else {
            Held::Weak(Arc::downgrade(self))
        };
        let firing = Firing { timer, generation, armed: self.armed.clone() };
        match self.action {
            // Runtime code only: the lock, a send of the time, and, when the
            // firing held the last reference, the drop of a timer that holds
            // no user value. So it runs inline, from the timer heap.
            Action::Send => call_at_inline(deadline, firing),
            // Dropping the last reference would drop the user's function:
            // its own goroutine does that.
            Action::Call(_) => call_at_inline(deadline, InGoroutine(firing)),
        }
    }

    /// Disarms: bumps the generation and drains a value not yet received.
    /// Returns whether the timer was pending (armed, or fired but not
    /// received), Go 1.23's result of `Stop` and `Reset`.
    fn disarm(&self, st: &mut State) -> bool {
        let mut pending = st.active;
        st.active = false;
        st.generation += 1;
        self.set_armed(DISARMED);
        // Under the timer's lock: a drain that yielded here would leave the
        // lock held while the worker fires timers, this one included.
        while self.tx.try_recv_in_place().is_ok() {
            pending = true;
        }
        pending
    }

    /// Publishes which generation's firing may deliver (under `state`'s
    /// lock, before that firing is armed).
    fn set_armed(&self, generation: u64) {
        // Relaxed: a hint for the timer heap, which reads it only for
        // firings pushed after this store (the heap's lock orders the two);
        // a stale read can only call a dead firing live, never the reverse.
        self.armed.store(generation, Ordering::Relaxed);
    }
}

/// How a firing holds its timer.
enum Held {
    /// A `tick`'s firing keeps it alive (nothing else does).
    Strong(Arc<Inner>),
    /// Any other firing: a dropped `Timer` or `Ticker` needs no `stop`.
    Weak(std::sync::Weak<Inner>),
}

/// One armed firing of a timer.
struct Firing {
    /// The timer.
    timer: Held,
    /// The generation it was armed in.
    generation: u64,
    /// The timer's `armed`.
    armed: Arc<AtomicU64>,
}

impl Callback for Firing {
    fn call(self: Box<Self>) {
        match self.timer {
            Held::Strong(t) => fire(&t, self.generation),
            Held::Weak(w) => {
                if let Some(t) = w.upgrade() {
                    fire(&t, self.generation);
                }
            }
        }
    }

    /// A firing of a dropped, stopped or re-armed timer is dead: the heap
    /// drops it at once rather than at the deadline.
    fn is_live(&self) -> bool {
        let held = match &self.timer {
            Held::Strong(_) => true,
            Held::Weak(w) => w.strong_count() > 0,
        };
        // Relaxed: see `Inner::set_armed`.
        held && self.armed.load(Ordering::Relaxed) == self.generation
    }
}

/// An `after_func` timer's firing: spawns a goroutine that fires it (as
/// `call_at` does), and is as live as the firing it carries.
struct InGoroutine(Firing);

impl Callback for InGoroutine {
    fn call(self: Box<Self>) {
        let firing = self.0;
        spawn(move || Box::new(firing).call());
    }

    fn is_live(&self) -> bool {
        self.0.is_live()
    }
}

/// A timer's firing: delivers, unless the timer was re-armed or stopped.
fn fire(t: &Arc<Inner>, generation: u64) {
    let mut st = t.state.lock();
    if st.generation != generation || !st.active {
        return;
    }
    if t.self_owned && t.tx.is_unreferenced() {
        // A `tick` channel nobody holds: stop, and let it be freed (57).
        st.active = false;
        t.set_armed(DISARMED);
        return;
    }
    let now = Instant::now();
    match (&t.action, st.period) {
        (Action::Call(f), _) => {
            st.active = false;
            t.set_armed(DISARMED);
            let f = f.clone();
            drop(st);
            // An `after_func` timer fires in a goroutine of its own
            // (`arm`): that is where Go runs `f`.
            f();
        }
        (Action::Send, None) => {
            st.active = false;
            t.set_armed(DISARMED);
            // Empty after `disarm`, so there is room.
            let _ = t.tx.try_send_in_place(now);
        }
        (Action::Send, Some(period)) => {
            // A slow reader keeps at most one pending tick (56).
            let _ = t.tx.try_send_in_place(now);
            drop(st);
            t.arm(now.checked_add(period), generation);
        }
    }
}

/// A single event in the future (Go's `time.Timer`): the current time is
/// delivered once on `c` after the duration.
///
/// # Example
/// ```
/// use go::time::{self, Timer};
///
/// let t = Timer::new(5 * time::MILLISECOND);
/// let fired_at = t.c.recv().unwrap();
/// assert!(!t.reset(time::SECOND)); // it fired and was received
/// assert!(t.stop()); // the new schedule was pending
/// # let _ = fired_at;
/// ```
pub struct Timer {
    /// Receives the time when the timer fires (Go's `t.C`); nil for
    /// [`after_func`] timers.
    pub c: Receiver<Instant>,
    /// Shared with pending firings.
    inner: Arc<Inner>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("active", &self.inner.state.lock().active).finish()
    }
}

fn new_inner(tx: Chan<Instant>, action: Action, period: Option<Duration>) -> Arc<Inner> {
    Arc::new(Inner {
        state: parking_lot::Mutex::new(State { generation: 0, active: true, period }),
        tx,
        action,
        self_owned: false,
        armed: Arc::new(AtomicU64::new(0)),
    })
}

impl Timer {
    /// A timer that fires after `d` (Go's `time.NewTimer`); `d` of zero
    /// fires at once.
    ///
    /// # Example
    /// ```
    /// let t = go::time::Timer::new(std::time::Duration::from_millis(1));
    /// assert!(t.c.recv().is_some());
    /// ```
    pub fn new(d: Duration) -> Timer {
        let ch = Chan::new(1);
        let inner = new_inner(ch.clone(), Action::Send, None);
        inner.arm(Instant::now().checked_add(d), 0);
        Timer { c: ch.receiver(), inner }
    }

    /// Stops the timer (Go's `t.Stop()`): true if it was pending (not yet
    /// fired, or fired but not received; the unreceived value is dropped),
    /// false if it had already been received or stopped.
    ///
    /// # Example
    /// ```
    /// let t = go::time::Timer::new(go::time::SECOND);
    /// assert!(t.stop());
    /// assert!(!t.stop());
    /// ```
    pub fn stop(&self) -> bool {
        let pending = {
            let mut st = self.inner.state.lock();
            self.inner.disarm(&mut st)
        };
        crate::scheduler::checkpoint();
        pending
    }

    /// Re-arms the timer to fire after `d` (Go's `t.Reset(d)`), dropping any
    /// pending value; returns what [`stop`](Self::stop) would have.
    ///
    /// # Example
    /// ```
    /// let t = go::time::Timer::new(go::time::SECOND);
    /// assert!(t.reset(go::time::MILLISECOND));
    /// assert!(t.c.recv().is_some());
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        let mut st = self.inner.state.lock();
        let pending = self.inner.disarm(&mut st);
        st.active = true;
        let generation = st.generation;
        self.inner.set_armed(generation);
        drop(st);
        self.inner.arm(Instant::now().checked_add(d), generation);
        pending
    }
}

/// Runs `f` in its own goroutine after `d` (Go's `time.AfterFunc`). The
/// returned timer's channel is nil; `stop` returns true if `f` had not
/// started (docs/go-semantics.md, 54).
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let t = go::time::after_func(go::time::SECOND, move || r.store(true, Ordering::SeqCst));
/// assert!(t.stop()); // f never runs
/// assert!(!ran.load(Ordering::SeqCst));
/// ```
pub fn after_func(d: Duration, f: impl Fn() + Send + Sync + 'static) -> Timer {
    let inner = new_inner(Chan::nil(), Action::Call(Arc::new(f)), None);
    inner.arm(Instant::now().checked_add(d), 0);
    Timer { c: Chan::nil().receiver(), inner }
}

/// Delivers the time on `c` every period (Go's `time.Ticker`). A slow
/// reader gets at most one pending tick; the others are dropped (56).
///
/// # Example
/// ```
/// let t = go::time::Ticker::new(2 * go::time::MILLISECOND);
/// for _ in 0..3 {
///     t.c.recv().unwrap();
/// }
/// t.stop();
/// ```
pub struct Ticker {
    /// Receives the ticks (Go's `t.C`).
    pub c: Receiver<Instant>,
    /// Shared with pending firings.
    inner: Arc<Inner>,
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Ticker").field("active", &st.active).field("period", &st.period).finish()
    }
}

impl Ticker {
    /// A ticker with period `d` (Go's `time.NewTicker`).
    ///
    /// # Panics
    /// `non-positive interval for NewTicker` if `d` is zero (55).
    ///
    /// # Example
    /// ```
    /// let t = go::time::Ticker::new(go::time::MILLISECOND);
    /// assert!(t.c.recv().is_some());
    /// ```
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "non-positive interval for NewTicker");
        let ch = Chan::new(1);
        let inner = new_inner(ch.clone(), Action::Send, Some(d));
        inner.arm(Instant::now().checked_add(d), 0);
        Ticker { c: ch.receiver(), inner }
    }

    /// Stops the ticker: no tick is delivered after it returns (Go 1.23).
    ///
    /// # Example
    /// ```
    /// let t = go::time::Ticker::new(go::time::MILLISECOND);
    /// t.stop();
    /// assert!(t.c.recv_timeout(10 * go::time::MILLISECOND).is_err());
    /// ```
    pub fn stop(&self) {
        {
            let mut st = self.inner.state.lock();
            self.inner.disarm(&mut st);
        }
        crate::scheduler::checkpoint();
    }

    /// Restarts the ticker with period `d` (Go's `t.Reset(d)`).
    ///
    /// # Panics
    /// `non-positive interval for Ticker.Reset` if `d` is zero.
    ///
    /// # Example
    /// ```
    /// let t = go::time::Ticker::new(go::time::SECOND);
    /// t.reset(go::time::MILLISECOND);
    /// assert!(t.c.recv().is_some());
    /// ```
    pub fn reset(&self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        let mut st = self.inner.state.lock();
        self.inner.disarm(&mut st);
        st.active = true;
        st.period = Some(d);
        let generation = st.generation;
        self.inner.set_armed(generation);
        drop(st);
        self.inner.arm(Instant::now().checked_add(d), generation);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Nothing can receive any more: stop re-arming.
        self.stop();
    }
}

/// A channel of ticks every `d` (Go's `time.Tick`); the nil channel if `d`
/// is zero (55). The ticker stops, and is freed, at its first tick after
/// every handle to the channel is dropped (Go 1.23+, docs/go-semantics.md, 57).
///
/// # Example
/// ```
/// let ticks = go::time::tick(go::time::MILLISECOND);
/// assert!(ticks.recv().is_some());
/// assert!(go::time::tick(std::time::Duration::ZERO).try_recv().is_err());
/// ```
pub fn tick(d: Duration) -> Receiver<Instant> {
    if d.is_zero() {
        return Chan::nil().receiver();
    }
    let ch = Chan::new(1);
    let inner = Arc::new(Inner {
        state: parking_lot::Mutex::new(State { generation: 0, active: true, period: Some(d) }),
        tx: ch.clone(),
        action: Action::Send,
        self_owned: true,
        armed: Arc::new(AtomicU64::new(0)),
    });
    inner.arm(Instant::now().checked_add(d), 0);
    ch.receiver()
}
