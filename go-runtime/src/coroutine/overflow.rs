//! Stack overflow is never undefined behaviour: every goroutine stack has a
//! guard page below it, and touching it raises SIGSEGV. This handler, running
//! on the worker's alternate signal stack (the goroutine's stack is
//! exhausted), recognises the guard of the goroutine running on the faulting
//! thread, prints Go's `fatal error: stack overflow` with the goroutine's id
//! and spawn site, and ends the process with Go's status 2 (or aborts, for a
//! core dump, when `GOTRACEBACK=crash`). Any other fault goes to the handler
//! that was installed before ours (Rust's own, which reports overflows of
//! thread stacks), or to the default action.
//!
//! Everything the handler does is async-signal-safe: it reads a
//! thread-local pointer and immutable goroutine fields, formats into a buffer
//! on its own stack, and calls `write`, `_exit` or `abort`.

use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::current;
use crate::report;

/// The handlers installed before ours, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
/// `GOTRACEBACK=crash`: abort (core dump) instead of exiting with status 2.
static ABORT_ON_FATAL: AtomicBool = AtomicBool::new(false);

/// Installs the handler for SIGSEGV and SIGBUS (once per process).
pub(crate) fn install_handler() {
    ABORT_ON_FATAL
        .store(std::env::var("GOTRACEBACK").is_ok_and(|v| v == "crash"), Ordering::Relaxed);
    PREVIOUS.get_or_init(|| {
        let mut prev = [zeroed_sigaction(), zeroed_sigaction()];
        for (slot, sig) in prev.iter_mut().zip([libc::SIGSEGV, libc::SIGBUS]) {
            let mut new = zeroed_sigaction();
            new.sa_sigaction = handler as *const () as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `new` and `slot` are valid sigaction structs; installing
            // a handler has no memory-safety precondition beyond that.
            unsafe {
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(sig, &new, slot);
            }
        }
        prev
    });
}

fn zeroed_sigaction() -> libc::sigaction {
    // SAFETY: sigaction is a plain C struct for which all-zero is valid
    // (SIG_DFL, empty mask, no flags).
    unsafe { MaybeUninit::zeroed().assume_init() }
}

/// Gives the calling thread an alternate signal stack if it has none, so the
/// handler can run when a goroutine stack is exhausted. Worker threads call
/// it once at start (std gives its threads one only when its own handler is
/// installed).
pub(crate) fn ensure_alt_stack() {
    const SIZE: usize = 64 << 10;
    // SAFETY: querying with a null new stack only writes `old`.
    unsafe {
        let mut old: libc::stack_t = MaybeUninit::zeroed().assume_init();
        if libc::sigaltstack(std::ptr::null(), &mut old) != 0
            || old.ss_flags & libc::SS_DISABLE == 0
        {
            return;
        }
        let sp = libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if sp == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t { ss_sp: sp, ss_flags: 0, ss_size: SIZE };
        // The mapping is leaked on purpose: worker threads never exit.
        libc::sigaltstack(&st, std::ptr::null_mut());
    }
}

/// A fixed buffer that `write!` can fill without allocating.
struct Buf {
    bytes: [u8; 1024],
    len: usize,
}

impl std::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let g = current::current_ptr();
    if !g.is_null() {
        // SAFETY: the goroutine running on this thread is kept alive by its
        // resumer; its `guard`, `id`, `parent`, `spawn_site` and `stack_size`
        // are immutable.
        let g = unsafe { &*g };
        let (lo, hi) = g.guard();
        if (lo..hi).contains(&addr) {
            let mut buf = Buf { bytes: [0; 1024], len: 0 };
            let site = g.spawn_site();
            let _ = write!(
                buf,
                "runtime: goroutine stack exceeds {}-byte limit\n\
                 runtime: a bigger stack: go::Builder::stack_size (one goroutine), \
                 go::runtime::set_default_stack_size (all), \
                 #[go::main(stack_size = N, goroutine_stack_size = N)], \
                 go::runtime::maybe_grow (a deep call)\n\
                 fatal error: stack overflow\n\n\
                 goroutine {} [running]:\n",
                g.stack_size(),
                g.id(),
            );
            let _ = report::write_created_by(&mut buf, None, g.parent(), site);
            // SAFETY: write, abort and _exit are async-signal-safe.
            unsafe {
                libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
                if ABORT_ON_FATAL.load(Ordering::Relaxed) {
                    libc::abort();
                }
                libc::_exit(2);
            }
        }
    }
    // A plain thread on a `maybe_grow` segment.
    let (lo, hi) = super::grow::thread_segment_guard();
    if (lo..hi).contains(&addr) {
        let msg = b"runtime: a go::runtime::maybe_grow stack segment is exhausted: \
                    ask for a bigger one\nfatal error: stack overflow\n";
        // SAFETY: write, abort and _exit are async-signal-safe.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            if ABORT_ON_FATAL.load(Ordering::Relaxed) {
                libc::abort();
            }
            libc::_exit(2);
        }
    }
    chain(sig, info, ctx);
}

/// Passes a fault that is not a goroutine overflow to the previous handler.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(prev) = PREVIOUS.get() else { return };
    let prev = if sig == libc::SIGBUS { &prev[1] } else { &prev[0] };
    let action = prev.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Restore the default and return: the faulting instruction runs again
        // and the kernel applies the default action (a core dump).
        // SAFETY: `prev` is a valid sigaction read from the kernel.
        unsafe { libc::sigaction(sig, prev, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(action) };
        f(sig, info, ctx);
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal only.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(action) };
        f(sig);
    }
}
