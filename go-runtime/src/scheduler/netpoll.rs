//! The netpoller: one epoll instance for the process; a goroutine whose
//! socket call would block parks on the socket's [`PollDesc`] until epoll
//! says the socket is ready (Go's `netpoll` and `pollDesc`).
//!
//! # Protocol (per direction, read and write)
//! State: `ready` (an edge arrived that nobody consumed) and `waiter`,
//! under one small lock.
//! 1. An operation tries the non-blocking system call first. On `EAGAIN`
//!    it calls `wait`: under the lock, if `ready` is set it clears it and
//!    retries at once; else it stores its `Unparker` and parks.
//! 2. `poll` turns each epoll event into `ready` for the directions it
//!    covers and wakes the waiter it takes out, after unlocking.
//! 3. Sockets are registered edge-triggered (`EPOLLET`), so an edge that
//!    arrives between the failed call and step 1 is kept in `ready` and not
//!    lost: the waiter retries instead of sleeping through it. A stale
//!    `ready` costs one extra `EAGAIN`.
//! 4. A deadline change or a close (`interrupt`) is step 2 for both
//!    directions: the caller wakes, or does not park, and looks at the
//!    deadlines again. Only waking a present waiter lost the change when
//!    the operation was between reading its deadline and step 1: it then
//!    parked with the old deadline for ever (8 acceptors and a deadline,
//!    about 1 run in 100 on a loaded machine).
//!
//! One goroutine (or thread) at a time waits on each direction: an edge
//! wakes the one waiter. Sockets keep to that by taking turns per direction
//! (`net::Sock`, Go's `fdMutex`); a second waiter would replace the first,
//! which would then sleep for ever (two goroutines in `accept` on one
//! listener did, before the turns).
//!
//! `PollDesc`s are never freed, only recycled with a new generation, so an
//! event for a closed socket that is still in flight in another thread's
//! `epoll_wait` touches valid memory; its generation no longer matches and
//! it is dropped.
//!
//! # Who polls
//! Idle workers (`worker.rs`): a searching worker polls without
//! blocking; the last worker to go to sleep becomes the *poll owner* and
//! blocks in `epoll_wait` instead of parking, with the nearest timer as the
//! timeout, so there is no polling interval. Waking the poll owner writes
//! to an eventfd that epoll watches. sysmon polls every 10 ms if nobody did,
//! so a runtime whose workers never idle still sees the network.

use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::global::runtime;
use super::idle::Sleeper;
use super::park::{self, Deadline, Unparker};
use crate::clock;
use crate::coroutine::WaitReason;

/// No worker owns the poller.
const NO_OWNER: usize = usize::MAX;

/// The process's poller.
#[derive(Debug)]
pub(super) struct Netpoll {
    /// The epoll instance.
    epfd: RawFd,
    /// An eventfd in the epoll set, written to wake a blocked `epoll_wait`.
    wakefd: RawFd,
    /// Sockets registered and not yet closed: nobody polls when zero.
    registered: AtomicUsize,
    /// The sleeper of the worker blocked in `epoll_wait` (as an address),
    /// or `NO_OWNER`.
    owner: AtomicUsize,
    /// When the poller last ran (coarse ms), for sysmon's fallback poll.
    last_poll: AtomicU64,
    /// Recycled descriptors.
    free: Mutex<Vec<&'static PollDesc>>,
}

/// epoll's `data` of the wake-up eventfd (no `PollDesc` has this address).
const WAKE_TOKEN: u64 = 1;

/// One direction of a socket's readiness.
#[derive(Debug, Default)]
struct Side {
    /// An edge arrived that no operation consumed yet.
    ready: bool,
    /// The goroutine or thread waiting for the next edge.
    waiter: Option<Unparker>,
}

/// A registered socket's readiness (Go's `pollDesc`).
#[derive(Debug, Default)]
pub(crate) struct PollDesc {
    /// Incremented each time the descriptor is reused.
    generation: AtomicU32,
    /// Readable side.
    read: Mutex<Side>,
    /// Writable side.
    write: Mutex<Side>,
}

/// Which way an operation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Reading, accepting, receiving.
    Read,
    /// Writing, connecting, sending.
    Write,
}

/// The poller, created on first use.
pub(super) fn netpoll() -> &'static Netpoll {
    static POLL: OnceLock<Netpoll> = OnceLock::new();
    POLL.get_or_init(|| {
        Netpoll::new().unwrap_or_else(|e| panic!("go: cannot create the netpoller: {e}"))
    })
}

/// The poller, if it exists and has sockets to watch.
pub(super) fn active() -> Option<&'static Netpoll> {
    started().filter(|p| p.registered.load(Ordering::Relaxed) > 0)
}

/// The poller, if it was created.
pub(super) fn started() -> Option<&'static Netpoll> {
    NETPOLL_STARTED.get().map(|()| netpoll())
}

/// Set once the poller exists (so `active` never creates it).
static NETPOLL_STARTED: OnceLock<()> = OnceLock::new();

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

impl Netpoll {
    fn new() -> io::Result<Self> {
        // SAFETY: plain system calls with valid flags.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: as above.
        let wakefd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32 | libc::EPOLLET as u32,
            u64: WAKE_TOKEN,
        };
        // SAFETY: valid descriptors and event.
        cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, wakefd, &mut ev) })?;
        raise_nofile_limit();
        let _ = NETPOLL_STARTED.set(());
        Ok(Netpoll {
            epfd,
            wakefd,
            registered: AtomicUsize::new(0),
            owner: AtomicUsize::new(NO_OWNER),
            last_poll: AtomicU64::new(0),
            free: Mutex::new(Vec::new()),
        })
    }

    /// Registers the non-blocking socket `fd` (edge-triggered, both ways).
    pub(super) fn register(&self, fd: RawFd) -> io::Result<&'static PollDesc> {
        let pd = self.free.lock().pop().unwrap_or_else(|| Box::leak(Box::default()));
        // AcqRel pairs with the Acquire load in `poll`: a poller that sees
        // the new generation sees the descriptor's new life; one that sees
        // an old generation drops the event.
        let generation = pd.generation.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
        *pd.read.lock() = Side::default();
        *pd.write.lock() = Side::default();
        // The top 16 bits of the token carry the generation's low 16 bits.
        let token = (std::ptr::from_ref(pd) as u64) | u64::from(generation & 0xFFFF) << 48;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: valid descriptors and event.
        if let Err(e) = cvt(unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) })
        {
            self.free.lock().push(pd);
            return Err(e);
        }
        // SeqCst pairs with the Relaxed load in `active` only through the
        // workers' SeqCst idle protocol: a hint of whether anyone polls.
        self.registered.fetch_add(1, Ordering::SeqCst);
        Ok(pd)
    }

    /// Forgets `fd` (about to be closed) and recycles its descriptor.
    pub(super) fn deregister(&self, fd: RawFd, pd: &'static PollDesc) {
        // SAFETY: valid descriptors; a null event is allowed for DEL.
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
        // AcqRel pairs with the Acquire load in `poll`: an event in flight
        // for the old socket is dropped.
        pd.generation.fetch_add(1, Ordering::AcqRel);
        // Anyone still waiting gets woken to see the socket is gone.
        pd.interrupt();
        // SeqCst: as in `register` (pairs with the load in `active`).
        self.registered.fetch_sub(1, Ordering::SeqCst);
        self.free.lock().push(pd);
    }

    /// Step 2: waits up to `timeout` (`None`: for ever) for events and
    /// wakes the goroutines they concern.
    pub(super) fn poll(&self, timeout: Option<Duration>) {
        self.last_poll.store(clock::coarse_millis(), Ordering::Relaxed);
        let ms = match timeout {
            None => -1,
            Some(d) => {
                i32::try_from(d.as_millis().max(u128::from(!d.is_zero()))).unwrap_or(i32::MAX)
            }
        };
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 128];
        // SAFETY: `events` has room for 128 entries.
        let n = unsafe { libc::epoll_wait(self.epfd, events.as_mut_ptr(), 128, ms) };
        if n <= 0 {
            return;
        }
        for ev in &events[..n as usize] {
            let (flags, token) = (ev.events, ev.u64);
            if token == WAKE_TOKEN {
                let mut buf = 0u64;
                // SAFETY: reading 8 bytes into `buf` from our eventfd.
                unsafe { libc::read(self.wakefd, std::ptr::from_mut(&mut buf).cast(), 8) };
                continue;
            }
            let addr = (token & ((1 << 48) - 1)) as usize;
            let generation = (token >> 48) as u32;
            // SAFETY: descriptors are leaked, never freed (module docs), so
            // the address is valid whatever happened to the socket.
            let pd = unsafe { &*(addr as *const PollDesc) };
            // Acquire pairs with the AcqRel `fetch_add`s of `register` and
            // `deregister`.
            if pd.generation.load(Ordering::Acquire) & 0xFFFF != generation {
                continue;
            }
            let err = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
            if flags & ((libc::EPOLLIN | libc::EPOLLRDHUP) as u32 | err) != 0 {
                pd.set_ready(Dir::Read);
            }
            if flags & (libc::EPOLLOUT as u32 | err) != 0 {
                pd.set_ready(Dir::Write);
            }
        }
    }

    /// Wakes the poll owner out of `epoll_wait`.
    pub(super) fn wake(&self) {
        let one = 1u64;
        // SAFETY: writing 8 bytes to our eventfd.
        unsafe { libc::write(self.wakefd, std::ptr::from_ref(&one).cast(), 8) };
    }

    /// Tries to become the worker that blocks in `epoll_wait`; `me` is its
    /// sleeper. SeqCst pairs with `owned_by` in `Sleeper::unpark`: either
    /// the waker sees us as the owner (and writes the eventfd), or we see
    /// that it cleared our `sleeping` flag (and do not block).
    pub(super) fn try_own(&self, me: &Sleeper) -> bool {
        let me = std::ptr::from_ref(me) as usize;
        self.owner.compare_exchange(NO_OWNER, me, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// Gives up ownership.
    pub(super) fn disown(&self) {
        // SeqCst pairs with the loads in `owned_by`/`has_owner` and the
        // CAS in `try_own`.
        self.owner.store(NO_OWNER, Ordering::SeqCst);
    }

    /// Whether the worker of sleeper `s` is blocked (or about to block) in
    /// `epoll_wait`.
    pub(super) fn owned_by(&self, s: &Sleeper) -> bool {
        // SeqCst pairs with the CAS in `try_own` (its doc says why).
        self.owner.load(Ordering::SeqCst) == std::ptr::from_ref(s) as usize
    }

    /// Whether some worker owns the poller.
    pub(super) fn has_owner(&self) -> bool {
        // SeqCst pairs with the CAS in `try_own` and the store in `disown`.
        self.owner.load(Ordering::SeqCst) != NO_OWNER
    }

    /// When the poller last ran (coarse ms).
    pub(super) fn last_poll(&self) -> u64 {
        self.last_poll.load(Ordering::Relaxed)
    }
}

impl PollDesc {
    fn side(&self, dir: Dir) -> &Mutex<Side> {
        match dir {
            Dir::Read => &self.read,
            Dir::Write => &self.write,
        }
    }

    /// Step 2 for one direction.
    fn set_ready(&self, dir: Dir) {
        let w = {
            let mut side = self.side(dir).lock();
            side.ready = true;
            side.waiter.take()
        };
        if let Some(w) = w {
            w.unpark();
        }
    }

    /// Step 1: waits for the next edge in `dir` (or a consumed earlier one),
    /// until `deadline`. Returns `false` on timeout.
    pub(crate) fn wait(&self, dir: Dir, deadline: Option<Instant>) -> bool {
        {
            let mut side = self.side(dir).lock();
            if side.ready {
                side.ready = false;
                return true;
            }
            // One waiter per direction: an edge wakes only this one, so
            // callers of a direction take turns (`net::Sock`).
            debug_assert!(side.waiter.is_none(), "two waiters on one direction of a socket");
            side.waiter = Some(Unparker::current());
        }
        // Make sure someone polls: with no owner, wake an idle worker, which
        // will take the poller (if every worker is busy, the caller's will
        // when it goes idle, and sysmon polls every 10 ms meanwhile).
        if !netpoll().has_owner() {
            runtime().wake_idle_worker();
        }
        let mut deadline = deadline.map(Deadline::new);
        loop {
            match &mut deadline {
                None => park::park(WaitReason::IoWait),
                Some(d) => {
                    if d.passed() {
                        let mut side = self.side(dir).lock();
                        side.waiter = None;
                        if side.ready {
                            side.ready = false;
                            return true;
                        }
                        return false;
                    }
                    d.park(WaitReason::IoWait);
                }
            }
            let mut side = self.side(dir).lock();
            if side.ready {
                side.ready = false;
                side.waiter = None;
                return true;
            }
        }
    }

    /// A deadline changed, or the socket is being closed: both sides are
    /// marked ready and their waiters woken, so that the caller looks
    /// again. Marking matters when nobody waits yet: an operation that read
    /// the old deadline and got `EAGAIN` is on its way to `wait`, and would
    /// otherwise park with the old deadline and sleep through the new one
    /// (Go's pollDesc bumps a sequence number for the same race). A stale
    /// mark costs one extra `EAGAIN`.
    pub(crate) fn interrupt(&self) {
        self.set_ready(Dir::Read);
        self.set_ready(Dir::Write);
    }
}

/// Raises the soft limit of open files to the hard limit, as Go does at
/// startup: a server holds a descriptor per connection.
fn raise_nofile_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur < lim.rlim_max
    {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}
