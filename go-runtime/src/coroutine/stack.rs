//! Goroutine stacks: reserved generously, committed lazily, guarded, pooled.
//!
//! See `README.md` in this folder for the layout and the measurements behind
//! the defaults.
//!
//! # Invariants
//! - A [`GoStack`] owns the address range `[guard, top)`; the guard bytes at
//!   its bottom (68 KiB with 4 KiB pages, see [`Geometry`]) fault on any
//!   access, everything above is
//!   read/write anonymous memory that the kernel commits on first touch.
//! - Stacks of one size class come from slabs of that class and go back to
//!   that class's free list; a slab is never unmapped (its address range stays
//!   reserved for the life of the process, like Go's stack spans).
//! - The free lists hold only stacks no coroutine runs on.

use std::io;
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::guards;

/// Bytes of guard below every stack, before the extra page: 64 KiB,
/// because C code compiled without stack-clash probes moves the stack
/// pointer by whole frames before touching them (Debian 12's glibc does
/// `sub $0x2018,%rsp` on the DNS path): a one-page guard can be jumped, and
/// the write lands in the next goroutine's live stack. One page more is
/// added (see [`Geometry`]) so that the stride between stacks is not a
/// power of two (their hot tops would all fall in the same L2 cache sets).
/// Guard pages cost address space and page tables only (README, "Guards").
const GUARD_MIN: usize = 64 << 10;
/// The top of a stack that is never given back on release (at least; a page
/// if pages are larger): the frames a typical goroutine touches live here.
const KEEP_MIN: usize = 32 << 10;
/// Bytes below the kept top that [`GoStack::trim_if_deep`] samples.
const PROBE_BYTES: usize = 4 << 10;

/// The kernel's page size: 4 KiB on x86_64; 4, 16 or 64 KiB on aarch64.
/// Read once, with `sysconf`, before the first slab is mapped.
#[inline]
fn page() -> usize {
    // Relaxed: every thread computes the same value; racing stores agree.
    match PAGE.load(Ordering::Relaxed) {
        0 => read_page_size(),
        page => page,
    }
}

/// The cached page size (0: not read yet).
static PAGE: AtomicUsize = AtomicUsize::new(0);

#[cold]
fn read_page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).unwrap_or(0);
    assert!(
        page.is_power_of_two() && page >= 4096,
        "go: the kernel reports a page size of {page} bytes"
    );
    // Relaxed: see `page`.
    PAGE.store(page, Ordering::Relaxed);
    page
}

/// How stacks are laid out for one page size. Everything that must be a
/// whole number of pages (guards, size classes, the kept top) is one, and
/// the stride between stacks (class + guard) is an odd number of pages
/// above one, so never a power of two: the smallest class is an even number
/// of pages, so every class is, and the guard is an odd number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Geometry {
    /// The page size.
    page: usize,
    /// Guard bytes below every stack: 64 KiB (or two pages, if more) plus
    /// one page. 68 KiB with 4 KiB pages, 80 KiB with 16 KiB, 192 KiB with
    /// 64 KiB.
    guard: usize,
    /// The smallest usable stack: 16 KiB, or two pages if more.
    min_class: usize,
    /// Bytes at the top of a stack kept when deep pages are given back.
    keep: usize,
}

impl Geometry {
    const fn for_page(page: usize) -> Self {
        const fn max(a: usize, b: usize) -> usize {
            if a > b { a } else { b }
        }
        Geometry {
            page,
            guard: max(GUARD_MIN, 2 * page) + page,
            min_class: max(1 << MIN_CLASS_SHIFT, 2 * page),
            keep: Self::keep_for(page),
        }
    }

    /// [`Geometry::keep`] for `page`.
    #[inline]
    const fn keep_for(page: usize) -> usize {
        if KEEP_MIN > page { KEEP_MIN } else { page }
    }
}

/// This machine's stack geometry.
#[inline]
fn geometry() -> Geometry {
    Geometry::for_page(page())
}

/// Smallest stack size class (16 KiB).
const MIN_CLASS_SHIFT: u32 = 14;
/// Size classes are powers of two up to 2^47 bytes.
const NUM_CLASSES: usize = 48 - MIN_CLASS_SHIFT as usize;
/// Address space a slab reserves (it holds at least one stack).
const SLAB_BYTES: usize = 64 << 20;
/// How many free stacks one worker keeps before handing half to the shared list.
const LOCAL_CACHE_MAX: usize = 256;

/// `madvise` advice that installs guard pages inside a mapping (Linux 6.13+).
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// How guard pages are made; decided once, on the first slab.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum GuardMode {
    /// `madvise(MADV_GUARD_INSTALL)`: guards live inside the slab's single
    /// mapping, so a slab is one VMA whatever its stack count.
    Install,
    /// `mprotect(PROT_NONE)` per guard: two VMAs per stack, so the default
    /// `vm.max_map_count` caps live goroutines near 32,000.
    Protect,
}

/// Guard mode: 0 unknown, 1 install, 2 protect.
static GUARD_MODE: AtomicU8 = AtomicU8::new(0);

/// One goroutine stack: `[guard, top)`, the guard page(s) at the bottom.
#[derive(Debug)]
pub(crate) struct GoStack {
    /// Highest address (exclusive); the stack grows down from here.
    top: NonZeroUsize,
    /// Lowest address of the range: the first guard byte.
    guard: NonZeroUsize,
    /// Guard bytes at the bottom ([`Geometry::guard`], kept here so the hot
    /// paths need not recompute it).
    guard_len: u32,
    /// Size class index (see [`class_of`]).
    class: u8,
    /// Cache colour: the coroutine starts `color * COLOR_STEP` bytes below
    /// `top`, so that the hot top frames of many goroutines do not all share
    /// one page offset and fight over the same cache sets.
    color: u8,
    /// Whether the guard is in place now. A stack is guarded when it is
    /// first taken to run on (`guarded`): with `MADV_GUARD_INSTALL` for
    /// good, on the `mprotect` fallback only while it runs or is cached
    /// (`guards.rs`).
    guarded: bool,
    /// Whether it was released before: its first release skips the probe
    /// and is trimmed in a batch (`StackCache::give`).
    released: bool,
}

/// Distance between two cache colours: one cache line.
const COLOR_STEP: usize = 64;
/// Number of colours: the first 1 KiB of a stack's top page.
const COLORS: usize = 16;

// SAFETY: `base` and `limit` describe memory this `GoStack` owns exclusively
// (taken from a slab, never handed out twice while live): `[guard, base)`
// with the guard at the bottom. `limit` is page-aligned and `base` is `top`
// (page-aligned) minus a multiple of 64, so both are aligned to
// `STACK_ALIGNMENT` (16), and `base` is far above `limit`.
unsafe impl corosensei::stack::Stack for GoStack {
    #[inline]
    fn base(&self) -> corosensei::stack::StackPointer {
        NonZeroUsize::new(self.top.get() - self.color as usize * COLOR_STEP)
            .expect("a stack top is far above zero")
    }

    #[inline]
    fn limit(&self) -> corosensei::stack::StackPointer {
        self.guard
    }
}

impl GoStack {
    /// The stack with its guard in place, ready to run on.
    pub(super) fn guarded(mut self) -> io::Result<GoStack> {
        if !self.guarded {
            let (lo, len) = (self.guard.get(), self.guard_len as usize);
            match guard_mode() {
                GuardMode::Install => {
                    // SAFETY: the guard range lies inside this stack's slab
                    // mapping and belongs to this stack, which nothing runs
                    // on yet.
                    let rc =
                        unsafe { libc::madvise(lo as *mut libc::c_void, len, MADV_GUARD_INSTALL) };
                    if rc != 0 {
                        return Err(map_error("guard", io::Error::last_os_error()));
                    }
                }
                GuardMode::Protect => guards::protect(lo, len).map_err(guard_error)?,
            }
            self.guarded = true;
        }
        Ok(self)
    }

    /// Whether its guard is an `mprotect` one, which sweeps may take while
    /// the stack does not run (`guards.rs`).
    pub(super) fn protected(&self) -> bool {
        guard_mode() == GuardMode::Protect
    }

    /// Whether it counts in [`POOL_GUARDED`] when in the shared pool.
    fn counts_in_pool(&self) -> bool {
        self.guarded && self.protected()
    }

    /// The stack's highest address (exclusive).
    pub(super) fn top(&self) -> usize {
        self.top.get()
    }

    /// The guard range `[lo, hi)` a stack overflow faults in.
    pub(super) fn guard_range(&self) -> (usize, usize) {
        (self.guard.get(), self.guard.get() + self.guard_len as usize)
    }

    /// Usable bytes above the guard.
    fn usable(&self) -> usize {
        self.top.get() - self.guard.get() - self.guard_len as usize
    }

    /// The part of the stack given back when it was used deep: from just
    /// above the guard to the kept top, `[lo, hi)`; `None` when the whole
    /// stack is kept.
    fn deep_range(&self) -> Option<(usize, usize)> {
        let keep = Geometry::keep_for(page());
        if self.usable() <= keep {
            return None;
        }
        Some((self.guard.get() + self.guard_len as usize, self.top.get() - keep))
    }

    /// Gives `[lo, hi)`, this stack's [`GoStack::deep_range`], back to the
    /// kernel.
    fn give_back(&self, (lo, hi): (usize, usize)) {
        debug_assert_eq!(self.deep_range(), Some((lo, hi)));
        // SAFETY: `[lo, hi)` is part of this stack's own mapping, above its
        // guard, and no live object is on it (the coroutine has finished);
        // DONTNEED on private anonymous memory only zeroes those pages.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED);
        }
    }

    /// Gives the stack's deep pages back to the kernel if it was used far down.
    ///
    /// A page the coroutine never touched reads as zero (the kernel maps the
    /// shared zero page, costing no memory). So eight words sampled from the
    /// 4 KiB just below the kept top are all zero unless frames reached that
    /// deep, and then the pages below the kept top are dropped with one
    /// `MADV_DONTNEED`. Frames that left exactly those eight words zero go
    /// unnoticed: the stack then keeps its pages until a later deep use; that
    /// costs memory, never correctness.
    #[inline]
    fn trim_if_deep(&self) {
        let Some((lo, keep_line)) = self.deep_range() else {
            return;
        };
        // Page-aligned: `top` is and `keep` is a whole number of pages; the
        // usable size is a power of two above `keep`, so at least twice it,
        // and the probed bytes lie above the guard.
        let probe = keep_line - PROBE_BYTES;
        let dirty = (0..8).any(|i| {
            let p = (probe + i * (PROBE_BYTES / 8)) as *const usize;
            // SAFETY: `p` is inside `[guard + guard_len, top)`, read/write memory
            // owned by this stack, aligned to 8; no coroutine runs on the stack
            // (it is being released), so nothing writes it concurrently.
            unsafe { p.read_volatile() != 0 }
        });
        if dirty {
            self.give_back((lo, keep_line));
        }
    }
}

/// The stack size class for a requested usable size: the index of the
/// power of two (at least 16 KiB, and at least a page) that holds it.
fn class_of(size: usize) -> usize {
    let size = size.max(geometry().min_class).next_power_of_two();
    (size.trailing_zeros() - MIN_CLASS_SHIFT) as usize
}

/// Usable bytes of class `class`.
fn class_size(class: usize) -> usize {
    1 << (class as u32 + MIN_CLASS_SHIFT)
}

/// The largest usable stack a goroutine may ask for: 1 GiB (Go's limit is
/// 1 GB).
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;

/// Rounds a requested stack size to the size its class really provides.
/// Sizes above [`MAX_STACK_SIZE`] are the caller's error to report; here
/// they are capped, so that rounding never overflows.
pub(crate) fn round_stack_size(size: usize) -> usize {
    class_size(class_of(size.min(MAX_STACK_SIZE)))
}

/// Free stacks of every class, shared by all threads.
struct Pool {
    /// One free list per size class; the lock protects only the `Vec`.
    classes: [Mutex<Vec<GoStack>>; NUM_CLASSES],
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool { classes: std::array::from_fn(|_| Mutex::new(Vec::new())) })
}

/// A worker's private cache of free stacks, so spawn and exit on one worker
/// take no lock.
#[derive(Debug, Default)]
pub(crate) struct StackCache {
    /// Free stacks, checked for deep pages.
    stacks: Vec<GoStack>,
    /// Stacks released for the first time and not yet trimmed (fewer than
    /// [`TRIM_BATCH`]; `StackCache::give`).
    untrimmed: Vec<GoStack>,
}

impl StackCache {
    /// Takes a stack of class `class` from the cache, the shared pool, or a
    /// new slab, in that order.
    pub(super) fn take(&mut self, size: usize) -> io::Result<GoStack> {
        let mut stack = self.take_unguarded(size)?;
        if !stack.guarded && guard_mode() == GuardMode::Install {
            self.guard_ahead(&mut stack);
        }
        Ok(stack)
    }

    fn take_unguarded(&mut self, size: usize) -> io::Result<GoStack> {
        let class = class_of(size);
        if !self.untrimmed.is_empty() && !self.stacks.iter().any(|s| s.class as usize == class) {
            self.trim_untrimmed();
        }
        if let Some(i) = self.stacks.iter().rposition(|s| s.class as usize == class) {
            return Ok(self.stacks.swap_remove(i));
        }
        {
            let mut shared = pool().classes[class].lock();
            if !shared.is_empty() {
                let n = shared.len().min(GUARD_BATCH);
                let at = shared.len() - n;
                self.stacks.extend(shared.drain(at..).map(from_pool));
                drop(shared);
                return Ok(self.stacks.pop().expect("moved at least one stack"));
            }
        }
        stack_from_new_slab(class)
    }

    /// Installs the guards of `stack` and of the cached stacks of its class
    /// that will be taken next (up to [`GUARD_BATCH`] in all) with one
    /// `process_madvise` call, where the kernel takes guard advice that way
    /// (Linux 6.14+). Elsewhere, or if the call fails, nothing is marked and
    /// each stack is guarded alone when it runs (`GoStack::guarded`).
    #[cold]
    fn guard_ahead(&mut self, stack: &mut GoStack) {
        if BATCH_GUARDS.load(Ordering::Relaxed) == BATCH_NO {
            return;
        }
        let class = stack.class;
        let mut batch: Vec<&mut GoStack> = Vec::with_capacity(GUARD_BATCH);
        batch.push(stack);
        batch.extend(
            self.stacks
                .iter_mut()
                .rev()
                .filter(|s| s.class == class && !s.guarded)
                .take(GUARD_BATCH - 1),
        );
        let ranges: Vec<(usize, usize)> =
            batch.iter().map(|s| (s.guard.get(), s.guard_len as usize)).collect();
        if install_guards(&ranges) {
            for s in batch {
                s.guarded = true;
            }
        }
    }

    /// Makes sure a stack of `size` can be taken, mapping a slab if needed,
    /// so that `spawn` reports a mapping failure itself.
    pub(crate) fn ensure_available(&mut self, size: usize) -> io::Result<()> {
        let class = class_of(size);
        if self.stacks.last().is_some_and(|s| s.class as usize == class) {
            return Ok(());
        }
        let stack = self.take(size)?;
        self.stacks.push(stack);
        Ok(())
    }

    /// Returns a stack whose coroutine has finished.
    ///
    /// A stack used deep gives back its pages below the kept top. Whether
    /// it was is read from a probe page (`GoStack::trim_if_deep`), but on a
    /// stack released for the first time that page usually has no
    /// page-table entry yet, and the read is a page fault (it maps the zero
    /// page): 13-15% of the CPU time of 100,000 sleepers. So a stack's
    /// first release waits in `untrimmed`, and every [`TRIM_BATCH`] of
    /// them give their deep parts back with one call whether used or not
    /// (`trim_all`). Later releases probe as before: the second one maps
    /// the zero page (the fault a first release paid, now paid only by
    /// stacks used twice), and from then on a probe is a plain read. Stacks
    /// in `untrimmed` are handed out only after their batch is trimmed, so
    /// every stack handed out was trimmed as before.
    pub(crate) fn give(&mut self, mut stack: GoStack) {
        let first = !std::mem::replace(&mut stack.released, true);
        match stack.deep_range() {
            Some((lo, hi)) if first && hi - lo <= TRIM_SPAN => {
                self.untrimmed.push(stack);
                if self.untrimmed.len() >= TRIM_BATCH {
                    self.trim_untrimmed();
                }
            }
            _ => self.keep(stack),
        }
    }

    /// Trims the stacks in `untrimmed` (`trim_all`) and moves them to
    /// `stacks`.
    #[cold]
    fn trim_untrimmed(&mut self) {
        trim_all(&self.untrimmed);
        while let Some(s) = self.untrimmed.pop() {
            self.stacks.push(s);
            self.spill_if_full();
        }
    }

    /// Keeps a released stack that needs no batched check (its deep part, if
    /// any, is too large for one): checked alone, at once.
    fn keep(&mut self, stack: GoStack) {
        stack.trim_if_deep();
        self.stacks.push(stack);
        self.spill_if_full();
    }

    /// Hands half the cache to the shared pool once it holds more than
    /// [`LOCAL_CACHE_MAX`] stacks.
    fn spill_if_full(&mut self) {
        if self.stacks.len() > LOCAL_CACHE_MAX {
            let half = self.stacks.len() / 2;
            let mut spilled: Vec<GoStack> = self.stacks.drain(..half).collect();
            if guards::under_pressure() {
                unguard_all(&mut spilled);
            }
            for s in spilled {
                let s = for_pool(s);
                pool().classes[s.class as usize].lock().push(s);
            }
        }
    }
}

/// Makes sure the shared pool can hand out a stack of `size`, mapping a slab
/// if needed (callers off the runtime's workers).
pub(crate) fn ensure_available_shared(size: usize) -> io::Result<()> {
    let class = class_of(size);
    if !pool().classes[class].lock().is_empty() {
        return Ok(());
    }
    let mut fresh = new_slab(class)?;
    pool().classes[class].lock().append(&mut fresh);
    Ok(())
}

/// Takes a stack of at least `size` usable bytes from the shared pool
/// (mapping a slab if the class has none free).
pub(super) fn take_shared(size: usize) -> io::Result<GoStack> {
    let class = class_of(size);
    let free = pool().classes[class].lock().pop();
    match free {
        Some(s) => from_pool(s).guarded(),
        None => stack_from_new_slab(class)?.guarded(),
    }
}

/// Maps a slab of `class`, keeps one stack and puts the rest in the shared
/// pool.
fn stack_from_new_slab(class: usize) -> io::Result<GoStack> {
    let mut fresh = new_slab(class)?;
    let stack = fresh.pop().expect("a slab holds at least one stack");
    if !fresh.is_empty() {
        pool().classes[class].lock().append(&mut fresh);
    }
    Ok(stack)
}

/// Returns a stack to the shared pool (callers off the runtime's workers).
pub(super) fn give_shared(stack: GoStack) {
    stack.trim_if_deep();
    let stack = for_pool(stack);
    pool().classes[stack.class as usize].lock().push(stack);
}

impl Drop for StackCache {
    fn drop(&mut self) {
        trim_all(&self.untrimmed);
        self.stacks.append(&mut self.untrimmed);
        for s in self.stacks.drain(..) {
            let s = for_pool(s);
            pool().classes[s.class as usize].lock().push(s);
        }
    }
}

/// First releases a worker trims together (`StackCache::give`).
const TRIM_BATCH: usize = 32;
/// The largest deep part trimmed in a batch, unread: a stack with a larger
/// one is checked by its probe, so that one call never walks a large range.
const TRIM_SPAN: usize = 1 << 20;

/// `BATCH_TRIM`: whether `process_madvise` takes `MADV_DONTNEED` here.
static BATCH_TRIM: AtomicU8 = AtomicU8::new(BATCH_UNKNOWN);

/// Gives back the deep part of every stack in `stacks` with one
/// `process_madvise(MADV_DONTNEED)` over all of them, used or not: zapping
/// a range with no pages costs the kernel a page-table walk, not a fault.
/// Where the kernel refuses that (before Linux 6.14, or a partial result),
/// each stack is checked by its probe (`GoStack::trim_if_deep`).
fn trim_all(stacks: &[GoStack]) {
    let ranges: Vec<(usize, usize)> =
        stacks.iter().filter_map(GoStack::deep_range).map(|(lo, hi)| (lo, hi - lo)).collect();
    if ranges.is_empty() {
        return;
    }
    if BATCH_TRIM.load(Ordering::Relaxed) != BATCH_NO {
        // SAFETY: every range is the deep part of a stack this thread owns
        // whose coroutine has finished: no live object is there, and
        // DONTNEED on private anonymous memory only zeroes those pages.
        if unsafe { advise_all(&ranges, libc::MADV_DONTNEED, &BATCH_TRIM) } {
            return;
        }
    }
    for s in stacks {
        s.trim_if_deep();
    }
}

/// Free stacks in the shared pool that keep an `mprotect` guard.
static POOL_GUARDED: AtomicUsize = AtomicUsize::new(0);

/// Readies a free stack for the shared pool: on the `mprotect` fallback,
/// when too many stacks hold a guard, it loses its own (a free stack needs
/// none; `guards.rs`), else it is counted in [`POOL_GUARDED`].
fn for_pool(mut s: GoStack) -> GoStack {
    if s.counts_in_pool() {
        if guards::under_pressure() {
            unguard_all(std::slice::from_mut(&mut s));
        }
        if s.counts_in_pool() {
            // Relaxed: a count, read by sweeps as a hint.
            POOL_GUARDED.fetch_add(1, Ordering::Relaxed);
        }
    }
    s
}

/// A stack leaving the shared pool: no longer counted there.
fn from_pool(s: GoStack) -> GoStack {
    if s.counts_in_pool() {
        // Relaxed: see `for_pool`.
        POOL_GUARDED.fetch_sub(1, Ordering::Relaxed);
    }
    s
}

/// A sweep's first step (`guards.rs`): takes the guards off every free
/// stack in the shared pool.
pub(super) fn unguard_pool() {
    for class in &pool().classes {
        // Relaxed: see `for_pool`.
        if POOL_GUARDED.load(Ordering::Relaxed) == 0 {
            return;
        }
        let released = unguard_all(&mut class.lock());
        POOL_GUARDED.fetch_sub(released, Ordering::Relaxed);
    }
}

/// Takes the `mprotect` guards off free stacks (nothing runs on them),
/// sorting them by address so that neighbours (one's top is the next one's
/// guard) lose theirs in one call. Returns how many lost it.
fn unguard_all(stacks: &mut [GoStack]) -> usize {
    if !stacks.iter().any(GoStack::counts_in_pool) {
        return 0;
    }
    let mut released = 0;
    stacks.sort_unstable_by_key(|s| s.guard);
    let mut rest = &mut stacks[..];
    while !rest.is_empty() {
        if !rest[0].counts_in_pool() {
            rest = &mut rest[1..];
            continue;
        }
        let mut len = 1;
        while len < rest.len()
            && rest[len].counts_in_pool()
            && rest[len].guard.get() == rest[len - 1].top.get()
        {
            len += 1;
        }
        let (lo, hi) = (rest[0].guard.get(), rest[len - 1].guard_range().1);
        if guards::unprotect(lo, hi - lo, len) {
            for s in &mut rest[..len] {
                s.guarded = false;
            }
            released += len;
        }
        rest = &mut rest[len..];
    }
    released
}

fn guard_mode() -> GuardMode {
    match GUARD_MODE.load(Ordering::Relaxed) {
        1 => GuardMode::Install,
        2 => GuardMode::Protect,
        _ => {
            let mode = if !forced_protect() && probe_guard_install() {
                GuardMode::Install
            } else {
                GuardMode::Protect
            };
            GUARD_MODE.store(if mode == GuardMode::Install { 1 } else { 2 }, Ordering::Relaxed);
            mode
        }
    }
}

/// Whether `GODEBUG=stackguard=mprotect` forces the fallback (for kernels
/// where guard installation misbehaves, and to test the fallback).
fn forced_protect() -> bool {
    std::env::var("GODEBUG")
        .is_ok_and(|v| v.split(',').any(|kv| kv.trim() == "stackguard=mprotect"))
}

/// Most stacks guarded by one `process_madvise` call (`guard_ahead`): the
/// shared pool hands a worker this many at a time.
const GUARD_BATCH: usize = 32;
/// `BATCH_GUARDS`: not tried yet, works, refused.
const BATCH_UNKNOWN: u8 = 0;
const BATCH_YES: u8 = 1;
const BATCH_NO: u8 = 2;
/// Whether `process_madvise` installs guards here.
static BATCH_GUARDS: AtomicU8 = AtomicU8::new(BATCH_UNKNOWN);
/// `PIDFD_SELF` (Linux 6.14+): the calling process, whatever it is. A pidfd
/// opened once could outlive a `fork` and name the parent.
const PIDFD_SELF: libc::c_int = -10000;

/// Installs guards on all `ranges` (`(lo, len)`, the guards of stacks
/// nothing runs on) with one `process_madvise` call. Returns false if the
/// kernel refused or did only part: installing a guard twice is harmless,
/// so the caller then guards each range alone. The first call that
/// reports success is checked as the probe checks `madvise`: its first
/// guard must refuse access, or batches are given up.
fn install_guards(ranges: &[(usize, usize)]) -> bool {
    let first = BATCH_GUARDS.load(Ordering::Relaxed) == BATCH_UNKNOWN;
    // SAFETY: every range lies in a stack this thread owns and nothing runs
    // on: installing guards there changes no live memory.
    let ok = unsafe { advise_all(ranges, MADV_GUARD_INSTALL, &BATCH_GUARDS) };
    if ok && first && !ranges.first().is_some_and(|&(lo, _)| refuses_access(lo)) {
        // Relaxed: a hint, as in `advise_all`.
        BATCH_GUARDS.store(BATCH_NO, Ordering::Relaxed);
        return false;
    }
    ok
}

/// Whether the page at `addr` (page-aligned, in a private anonymous
/// mapping) refuses access as a guard does: `MADV_POPULATE_READ` (Linux
/// 5.14+) fails with `EFAULT` there instead of mapping the page.
fn refuses_access(addr: usize) -> bool {
    populate_read(addr) == Err(Some(libc::EFAULT))
}

/// `MADV_POPULATE_READ` over the page at `addr` (page-aligned, in a
/// private anonymous mapping); the error number if it failed.
fn populate_read(addr: usize) -> Result<(), Option<i32>> {
    // SAFETY: populating reads nothing and changes no contents: a page that
    // is not mapped yet is mapped to zeros, as a read of it would.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, page(), libc::MADV_POPULATE_READ) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error().raw_os_error()) }
}

/// Gives `advice` on all `ranges` (`(lo, len)`) with one `process_madvise`
/// call on this process. Returns whether the kernel did it all; the first
/// call's answer is recorded in `works` (`BATCH_*`), so that callers stop
/// trying where the kernel refuses.
///
/// # Safety
/// The advice on every range touches no memory a live object uses.
unsafe fn advise_all(ranges: &[(usize, usize)], advice: libc::c_int, works: &AtomicU8) -> bool {
    let iov: Vec<libc::iovec> = ranges
        .iter()
        .map(|&(lo, len)| libc::iovec { iov_base: lo as *mut libc::c_void, iov_len: len })
        .collect();
    let total: usize = ranges.iter().map(|r| r.1).sum();
    // SAFETY: `iov` describes `ranges`, whose advice the caller vouches for.
    let done = unsafe {
        libc::syscall(libc::SYS_process_madvise, PIDFD_SELF, iov.as_ptr(), iov.len(), advice, 0)
    };
    let ok = usize::try_from(done).is_ok_and(|d| d == total);
    if works.load(Ordering::Relaxed) == BATCH_UNKNOWN {
        // Relaxed: a hint; a thread that reads it late tries once more.
        works.store(if ok { BATCH_YES } else { BATCH_NO }, Ordering::Relaxed);
    }
    ok
}

/// Whether `madvise(MADV_GUARD_INSTALL)` makes real guards here (Linux
/// 6.13+). The call's success is not enough: an emulator that takes advice
/// it does not know as a hint (qemu-user does) returns 0 having installed
/// nothing, and every goroutine stack would be left without a guard, so an
/// overflow would write into its neighbour. So the guard is tried:
/// `MADV_POPULATE_READ` (Linux 5.14+) fails with `EFAULT` over a guard and
/// succeeds over an ordinary page.
fn probe_guard_install() -> bool {
    // SAFETY: the probe passes a page of its own fresh mapping.
    probe_guard_with(|p, len| unsafe { libc::madvise(p, len, MADV_GUARD_INSTALL) } == 0)
}

/// The probe with `install` (which returns whether it says it installed a
/// guard on the page `(p, len)`) in place of the kernel's advice.
fn probe_guard_with(install: impl FnOnce(*mut libc::c_void, usize) -> bool) -> bool {
    let page = page();
    // SAFETY: a fresh private anonymous mapping of two pages that nothing else
    // references; it is unmapped before returning.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return false;
        }
        let ok = install(p, page)
            && refuses_access(p as usize)
            && populate_read(p as usize + page).is_ok();
        libc::munmap(p, 2 * page);
        ok
    }
}

/// The error for a guard the kernel refused to put back or in place.
pub(super) fn guard_error(err: io::Error) -> io::Error {
    map_error("guard", err)
}

/// The error for a failed stack mapping, naming the limit that is usually hit.
fn map_error(what: &str, err: io::Error) -> io::Error {
    map_error_in(guard_mode(), what, err)
}

fn map_error_in(mode: GuardMode, what: &str, err: io::Error) -> io::Error {
    let hint = match mode {
        GuardMode::Protect => {
            "; on this kernel (older than Linux 6.13) each guarded goroutine stack costs \
             two memory mappings, and every goroutine that runs or waits to run keeps its \
             guard, so the limit is usually vm.max_map_count (raise it with \
             `sysctl -w vm.max_map_count=1048576`)"
        }
        GuardMode::Install => {
            "; the process may have reached vm.max_map_count or its address-space or \
             memory limit (ulimit -v, cgroup memory.max)"
        }
    };
    io::Error::new(err.kind(), format!("go: cannot {what} a goroutine stack: {err}{hint}"))
}

/// Maps a new slab for `class` and cuts it into guarded stacks.
/// The address space a slab reserves now: `SLAB_BYTES` until the kernel
/// refuses a reservation that large (strict overcommit, an address-space
/// limit), then a quarter of it, and so on.
static SLAB_NOW: AtomicUsize = AtomicUsize::new(SLAB_BYTES);

/// Maps `count` slots of `slot` bytes, or, if the kernel refuses, as many
/// as it allows (a quarter at a time, down to one), saying so once on
/// stderr. Returns the mapping's base and slot count.
fn map_slots(slot: usize, count: usize) -> io::Result<(usize, usize)> {
    let mut count = count;
    loop {
        let len = slot * count;
        // SAFETY: a fresh private anonymous mapping; MAP_NORESERVE because
        // stacks are committed page by page as they are touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base != libc::MAP_FAILED {
            return Ok((base as usize, count));
        }
        let err = io::Error::last_os_error();
        if count == 1 || err.raw_os_error() != Some(libc::ENOMEM) {
            return Err(map_error("map", err));
        }
        let smaller = (count / 4).max(1);
        let reserve = (smaller * slot).max(slot);
        // Relaxed: a hint for later slabs; racing updates all shrink it.
        if SLAB_NOW.fetch_min(reserve, Ordering::Relaxed) == SLAB_BYTES {
            let _ = writeln!(
                io::stderr(),
                "go: the kernel refused to reserve {} MiB of address space for goroutine \
                 stacks (strict overcommit, vm.overcommit_memory=2, or an address-space \
                 limit); reserving less at a time from now on",
                len >> 20
            );
        }
        count = smaller;
    }
}

fn new_slab(class: usize) -> io::Result<Vec<GoStack>> {
    let guard_len = geometry().guard;
    let slot = class_size(class) + guard_len;
    let count = (SLAB_NOW.load(Ordering::Relaxed) / slot).max(1);
    let (base, count) = map_slots(slot, count)?;
    let len = slot * count;
    let base = base as *mut libc::c_void;
    // Huge pages would turn a goroutine's one touched page into 2 MiB on
    // machines where transparent huge pages are always on.
    // SAFETY: advice on our own fresh mapping; failure only loses the hint.
    unsafe { libc::madvise(base, len, libc::MADV_NOHUGEPAGE) };
    let base = base as usize;
    let mut stacks = Vec::with_capacity(count);
    for i in 0..count {
        let guard = base + i * slot;
        // Each guard goes in when its stack is first taken
        // (`GoStack::guarded`): with `MADV_GUARD_INSTALL` once and for good
        // (guarding a whole 64 MiB slab up front was about 500 `madvise`
        // calls, 0.8 ms, inside a program's first spawn); an `mprotect`
        // guard only while the stack runs or is cached, as two mappings per
        // stack would cap a program at the mapping limit (`guards.rs`).
        stacks.push(GoStack {
            top: NonZeroUsize::new(guard + slot).expect("mmap never returns 0"),
            guard: NonZeroUsize::new(guard).expect("mmap never returns 0"),
            guard_len: u32::try_from(guard_len).expect("a guard is a few pages"),
            class: class as u8,
            color: (i % COLORS) as u8,
            guarded: false,
            released: false,
        });
    }
    // Hand out low addresses last so the cache pops them first (cheap to
    // reason about when reading /proc/self/maps).
    stacks.reverse();
    Ok(stacks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_is_whole_pages_for_every_page_size() {
        assert_eq!(
            Geometry::for_page(4 << 10),
            Geometry { page: 4 << 10, guard: 68 << 10, min_class: 16 << 10, keep: 32 << 10 }
        );
        assert_eq!(Geometry::for_page(16 << 10).guard, 80 << 10);
        assert_eq!(Geometry::for_page(64 << 10).guard, 192 << 10);
        for page in [4 << 10, 16 << 10, 64 << 10] {
            let g = Geometry::for_page(page);
            assert_eq!(g.guard % page, 0, "{g:?}");
            assert!(g.guard >= (64 << 10) + page, "{g:?}: a guard C frames cannot jump");
            assert_eq!(g.min_class % page, 0, "{g:?}");
            assert_eq!(g.keep % page, 0, "{g:?}");
            // Slots are whole pages and never a power of two apart.
            for class in 0..8 {
                let slot = g.min_class * (1 << class) + g.guard;
                assert_eq!(slot % page, 0, "{g:?}");
                assert!(!slot.is_power_of_two(), "{g:?}");
            }
        }
        assert_eq!(geometry().page, page());
    }

    #[test]
    fn a_refused_guard_names_the_mapping_limit() {
        let enomem = || io::Error::from_raw_os_error(libc::ENOMEM);
        let msg = map_error_in(GuardMode::Protect, "guard", enomem()).to_string();
        assert!(msg.starts_with("go: cannot guard a goroutine stack: "), "{msg}");
        assert!(msg.contains("every goroutine that runs or waits to run keeps its guard"));
        assert!(msg.contains("sysctl -w vm.max_map_count=1048576"), "{msg}");
        let msg = map_error_in(GuardMode::Install, "map", enomem()).to_string();
        assert!(msg.contains("vm.max_map_count or its address-space"), "{msg}");
    }

    #[test]
    fn a_new_slab_guards_a_stack_only_when_it_is_taken() {
        // Guarding all of a 64 MiB slab's ~500 stacks up front put 0.8 ms
        // (500 `madvise` calls) into a program's first spawn.
        let class = class_of(64 << 10);
        let slab = new_slab(class).unwrap();
        assert!(slab.len() > 100, "a slab holds many stacks");
        assert!(slab.iter().all(|s| !s.guarded), "no guard before a stack is used");
        let mut slab = slab;
        let s = slab.pop().unwrap().guarded().unwrap();
        assert!(s.guarded);
        // Writing just above the guard works; the guard itself is checked by
        // the overflow tests (tests/runtime_crash.rs).
        let (_, hi) = s.guard_range();
        // SAFETY: the first usable byte of `s`, which this test owns.
        unsafe { (hi as *mut u8).write_volatile(1) };
        let mut cache = StackCache::default();
        cache.give(s);
        for s in slab {
            cache.give(s);
        }
    }

    /// Whether reading one byte at `addr` faults (a guard), asked of the
    /// kernel by writing it to a pipe, which reports `EFAULT` instead of
    /// raising a signal (and which an emulator such as qemu-user checks
    /// against the guest's own page protections, as the kernel does).
    fn faults(addr: usize) -> bool {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: writes (at most) one byte from `addr` into our own pipe;
        // a byte the caller cannot read makes the call fail, not fault.
        let n = unsafe { libc::write(fds[1], addr as *const libc::c_void, 1) };
        // SAFETY: closes the two descriptors just opened.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        n != 1
    }

    #[test]
    fn a_cache_guards_the_stacks_it_hands_out_next_in_one_call() {
        if guard_mode() != GuardMode::Install {
            return;
        }
        let class = class_of(64 << 10);
        let mut cache = StackCache { stacks: new_slab(class).unwrap(), untrimmed: Vec::new() };
        let fresh = cache.stacks.len();
        assert!(fresh > GUARD_BATCH + 1);
        let taken = cache.take(64 << 10).unwrap();
        let batched = BATCH_GUARDS.load(Ordering::Relaxed) == BATCH_YES;
        let taken = if batched { taken } else { taken.guarded().unwrap() };
        assert!(taken.guarded && faults(taken.guard.get()) && faults(taken.guard_range().1 - 1));
        assert!(!faults(taken.guard_range().1), "the stack above its guard is usable");
        // The next stacks the cache hands out (the end of its list) were
        // guarded with it, the rest were not touched.
        let next = if batched { GUARD_BATCH - 1 } else { 0 };
        for (i, s) in cache.stacks.iter().rev().enumerate() {
            let guarded = i < next;
            assert_eq!(s.guarded, guarded, "stack {i} from the end");
            assert_eq!(faults(s.guard.get()), guarded, "stack {i} from the end");
        }
        cache.give(taken);
    }

    #[test]
    fn a_guard_is_trusted_only_if_it_refuses_access() {
        // Advice that reports success and installs nothing (what qemu-user
        // does with `MADV_GUARD_INSTALL`) must not pass for a guard: every
        // stack would be unguarded.
        assert!(!probe_guard_with(|_, _| true), "a no-op install passed the probe");
        assert!(!probe_guard_with(|_, _| false));
        // A guard the kernel really installed (checked independently by
        // `faults`) passes. Under an emulator that fakes the advice there
        // is none to try: the two checks above are the point there.
        let real = std::cell::Cell::new(false);
        let install = |p: *mut libc::c_void, len| {
            // SAFETY: the probe passes a page of its own fresh mapping.
            let said = unsafe { libc::madvise(p, len, MADV_GUARD_INSTALL) } == 0;
            real.set(said && faults(p as usize));
            said
        };
        let passed = probe_guard_with(install);
        assert!(passed || !real.get(), "a real guard failed the probe");
        if !forced_protect() {
            assert_eq!(
                passed,
                guard_mode() == GuardMode::Install,
                "the runtime's mode follows the probe"
            );
        }
    }

    #[test]
    fn classes_round_up_to_powers_of_two() {
        assert_eq!(round_stack_size(1), geometry().min_class);
        // Two pages at least: 128 KiB where pages are 64 KiB.
        assert_eq!(round_stack_size(64 << 10), (64 << 10).max(geometry().min_class));
        assert_eq!(round_stack_size((64 << 10) + 1), 128 << 10);
        assert_eq!(class_size(class_of(100 << 20)), 128 << 20);
    }

    #[test]
    fn stacks_are_distinct_writable_and_guarded_below() {
        let mut cache = StackCache::default();
        let a = cache.take(64 << 10).unwrap();
        let b = cache.take(64 << 10).unwrap();
        assert_ne!(a.top, b.top);
        assert_eq!(a.usable(), (64 << 10).max(geometry().min_class));
        let (lo, hi) = a.guard_range();
        assert_eq!(hi - lo, geometry().guard);
        // The whole usable range is writable.
        for addr in (hi..a.top.get()).step_by(page()) {
            // SAFETY: inside `a`'s usable range, which this test owns.
            unsafe { (addr as *mut u64).write_volatile(7) };
        }
        cache.give(a);
        cache.give(b);
    }

    /// Which pages of `[lo, hi)` have a page-table entry (`mincore`; the
    /// shared zero page counts).
    fn mapped(lo: usize, hi: usize) -> Vec<bool> {
        let mut answer = vec![0u8; (hi - lo) / page()];
        // SAFETY: `answer` has a byte per page of the page-aligned range,
        // which lies inside a mapping this test owns.
        let rc = unsafe { libc::mincore(lo as *mut libc::c_void, hi - lo, answer.as_mut_ptr()) };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        answer.into_iter().map(|b| b & 1 != 0).collect()
    }

    #[test]
    fn first_releases_map_no_page_below_the_kept_top() {
        // Reading the probe page of a stack released for the first time
        // mapped the zero page there: a page fault per short-lived
        // goroutine (13-15% of the CPU time of 100,000 sleepers).
        let class = class_of(64 << 10);
        let mut cache = StackCache { stacks: new_slab(class).unwrap(), untrimmed: Vec::new() };
        let n = 2 * TRIM_BATCH + 3;
        let taken: Vec<GoStack> = (0..n).map(|_| cache.take(64 << 10).unwrap()).collect();
        let deep: Vec<(usize, usize)> = taken.iter().map(|s| s.deep_range().unwrap()).collect();
        for s in taken {
            // Used near its top only, as a short-lived goroutine does.
            // SAFETY: the top word of `s`'s usable range, which the test owns.
            unsafe { ((s.top() - 8) as *mut u64).write_volatile(1) };
            cache.give(s);
        }
        if BATCH_TRIM.load(Ordering::Relaxed) == BATCH_NO {
            return; // Older kernels probe every release.
        }
        assert_eq!(cache.untrimmed.len(), n % TRIM_BATCH, "trimmed in batches");
        for (i, &(lo, hi)) in deep.iter().enumerate() {
            assert!(!mapped(lo, hi).contains(&true), "stack {i}: a page below its kept top");
        }
    }

    #[test]
    fn a_stack_used_deep_is_trimmed_before_it_is_handed_out_again() {
        let class = class_of(64 << 10);
        let mut cache = StackCache { stacks: new_slab(class).unwrap(), untrimmed: Vec::new() };
        // Only stacks from this cache, all released once: every one handed
        // out next comes from `untrimmed`, trimmed first.
        let taken: Vec<GoStack> = (0..5).map(|_| cache.take(64 << 10).unwrap()).collect();
        cache.stacks.clear();
        for s in taken {
            let (lo, hi) = s.deep_range().unwrap();
            for addr in (lo..hi).step_by(page()) {
                // SAFETY: inside the usable range of `s`, which the test owns.
                unsafe { (addr as *mut u64).write_volatile(0xdead) };
            }
            cache.give(s);
        }
        assert_eq!(cache.untrimmed.len(), 5);
        let again: Vec<GoStack> = (0..5).map(|_| cache.take(64 << 10).unwrap()).collect();
        for s in again {
            let (lo, hi) = s.deep_range().unwrap();
            assert!(!mapped(lo, hi).contains(&true), "deep pages given back");
            // SAFETY: `lo` is inside the usable range of `s`; DONTNEED left
            // the pages mapped and zero-filled.
            assert_eq!(unsafe { (lo as *const u64).read_volatile() }, 0);
            cache.give(s);
        }
    }

    #[test]
    fn deep_dirty_stack_is_trimmed_on_release() {
        let mut cache = StackCache::default();
        let s = cache.take(256 << 10).unwrap();
        let g = geometry();
        let deep = s.guard.get() + g.guard + g.page;
        // The bottom of the bytes `trim_if_deep` reads, just below the kept
        // top (a page below it only where pages are 4 KiB).
        let keep_probe = s.top.get() - g.keep - PROBE_BYTES;
        // SAFETY: both addresses are inside the usable range of `s`.
        unsafe {
            (deep as *mut u64).write_volatile(0xdead);
            (keep_probe as *mut u64).write_volatile(1);
        }
        s.trim_if_deep();
        // SAFETY: as above; DONTNEED left the pages mapped and zero-filled.
        unsafe {
            assert_eq!((deep as *const u64).read_volatile(), 0, "deep page given back");
            assert_eq!((keep_probe as *const u64).read_volatile(), 0);
        }
        // A stack used only near its top keeps its pages.
        let near_top = s.top.get() - 64;
        // SAFETY: inside the usable range of `s`.
        unsafe { (near_top as *mut u64).write_volatile(5) };
        s.trim_if_deep();
        // SAFETY: as above.
        assert_eq!(unsafe { (near_top as *const u64).read_volatile() }, 5);
        cache.give(s);
    }
}
