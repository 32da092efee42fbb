//! Go's `os/signal`: incoming signals delivered to channels, as
//! `go::os::signal`.
//!
//! # Protocol
//! `notify` installs, for each signal not yet handled, a handler that
//! writes the signal's number to a pipe (the only thing it does:
//! async-signal-safe), remembering the action it replaced. One thread
//! (`go-signal`, started by the first `notify`) reads the pipe and offers
//! each signal to every channel registered for it with a non-blocking send:
//! as in Go, a full channel misses the signal, so give it a buffer. `stop`
//! unregisters a channel; a signal no channel wants any more gets its
//! previous action back (the default action, or the runtime's SIGQUIT
//! goroutine dump), as Go restores it.

/// Go's `os/signal` package.
pub mod signal {
    use std::collections::HashMap;
    use std::fmt;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    use parking_lot::Mutex;

    use crate::chan::{Chan, Select};
    use crate::context::{self, Context};

    /// A signal (Go's `os.Signal` / `syscall.Signal`): a signal number,
    /// printed with Go's name for it.
    ///
    /// # Example
    /// ```
    /// use go::os::signal::Signal;
    /// assert_eq!(Signal::SIGINT.to_string(), "interrupt");
    /// assert_eq!(Signal::SIGTERM.number(), 15);
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Signal(i32);

    impl Signal {
        /// `SIGHUP`: the terminal hung up ("hangup").
        pub const SIGHUP: Signal = Signal(libc::SIGHUP);
        /// `SIGINT`, Go's `os.Interrupt` (Ctrl-C, "interrupt").
        pub const SIGINT: Signal = Signal(libc::SIGINT);
        /// `SIGQUIT` (Ctrl-\, "quit"): by default the runtime dumps every
        /// goroutine and exits; notifying a channel of it replaces that.
        pub const SIGQUIT: Signal = Signal(libc::SIGQUIT);
        /// `SIGTERM`: asked to terminate ("terminated").
        pub const SIGTERM: Signal = Signal(libc::SIGTERM);
        /// `SIGUSR1` ("user defined signal 1").
        pub const SIGUSR1: Signal = Signal(libc::SIGUSR1);
        /// `SIGUSR2` ("user defined signal 2").
        pub const SIGUSR2: Signal = Signal(libc::SIGUSR2);
        /// `SIGWINCH`: the terminal's size changed ("window changed").
        pub const SIGWINCH: Signal = Signal(libc::SIGWINCH);

        /// The signals a program may ask for by name here; `notify` with
        /// none listed means all of these.
        pub const CATCHABLE: [Signal; 7] = [
            Signal::SIGHUP,
            Signal::SIGINT,
            Signal::SIGQUIT,
            Signal::SIGTERM,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGWINCH,
        ];

        /// The signal's number.
        ///
        /// # Example
        /// ```
        /// assert_eq!(go::os::signal::Signal::SIGINT.number(), 2);
        /// ```
        pub fn number(self) -> i32 {
            self.0
        }
    }

    impl fmt::Display for Signal {
        /// Go's `syscall.Signal.String()`.
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let name = match self.0 {
                libc::SIGHUP => "hangup",
                libc::SIGINT => "interrupt",
                libc::SIGQUIT => "quit",
                libc::SIGTERM => "terminated",
                libc::SIGUSR1 => "user defined signal 1",
                libc::SIGUSR2 => "user defined signal 2",
                libc::SIGWINCH => "window changed",
                n => return write!(f, "signal {n}"),
            };
            f.write_str(name)
        }
    }

    impl fmt::Debug for Signal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Signal({}: {self})", self.0)
        }
    }

    /// The channels and the replaced actions, under one lock.
    #[derive(Default)]
    struct Registry {
        /// Each notified channel with its signals.
        chans: Vec<(Chan<Signal>, Vec<Signal>)>,
        /// The action each handled signal had before `notify`.
        previous: HashMap<i32, libc::sigaction>,
    }

    fn registry() -> &'static Mutex<Registry> {
        static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
        REGISTRY.get_or_init(Mutex::default)
    }

    /// The write end of the pipe the handler writes to (-1 before).
    static PIPE: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_signal(sig: libc::c_int) {
        // Relaxed: set before any handler is installed (the `sigaction`
        // call orders it).
        let fd = PIPE.load(Ordering::Relaxed);
        let b = sig as u8;
        // SAFETY: `write` is async-signal-safe; one byte from a local.
        unsafe { libc::write(fd, std::ptr::from_ref(&b).cast(), 1) };
    }

    /// Starts the thread that relays signals (once); false if it could not.
    fn relay() -> bool {
        static STARTED: OnceLock<bool> = OnceLock::new();
        *STARTED.get_or_init(|| {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` has room for the two descriptors.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return false;
            }
            let rd = fds[0];
            // Relaxed: see `on_signal`.
            PIPE.store(fds[1], Ordering::Relaxed);
            std::thread::Builder::new()
                .name("go-signal".into())
                .spawn(move || {
                    let mut b = [0u8; 1];
                    loop {
                        // SAFETY: reading one byte into `b` from our pipe.
                        if unsafe { libc::read(rd, b.as_mut_ptr().cast(), 1) } != 1 {
                            continue;
                        }
                        let sig = Signal(i32::from(b[0]));
                        let targets: Vec<Chan<Signal>> = registry()
                            .lock()
                            .chans
                            .iter()
                            .filter(|(_, sigs)| sigs.contains(&sig))
                            .map(|(c, _)| c.clone())
                            .collect();
                        for c in targets {
                            // As Go: never block; a full channel misses it.
                            let _ = c.try_send(sig);
                        }
                    }
                })
                .is_ok()
        })
    }

    /// Relays `sigs` (all of [`Signal::CATCHABLE`] if empty) to `c` (Go's
    /// `signal.Notify`): their default action (ending the program, or the
    /// goroutine dump of SIGQUIT) no longer happens, and each arrival is
    /// offered to `c` without blocking, so give it a buffer. Calling it
    /// again for the same channel adds signals. An inherited "ignore"
    /// (`SIG_IGN`, a `nohup`'d SIGHUP) is replaced too, as in Go.
    ///
    /// # Panics
    /// If the runtime cannot start its signal thread.
    ///
    /// # Example
    /// ```
    /// use go::os::signal::{self, Signal};
    ///
    /// let sigs = go::chan::Chan::new(1);
    /// signal::notify(&sigs, &[Signal::SIGUSR1]);
    /// // SAFETY: raising a signal this program now handles.
    /// unsafe { libc::raise(libc::SIGUSR1) };
    /// assert_eq!(sigs.recv(), Some(Signal::SIGUSR1));
    /// signal::stop(&sigs);
    /// ```
    pub fn notify(c: &Chan<Signal>, sigs: &[Signal]) {
        assert!(relay(), "go: cannot start the signal relay thread");
        let sigs = if sigs.is_empty() { &Signal::CATCHABLE[..] } else { sigs };
        let mut reg = registry().lock();
        for &sig in sigs {
            if reg.previous.contains_key(&sig.0) {
                continue;
            }
            // SAFETY: a zeroed sigaction whose handler only calls `write`;
            // the old action is kept to be restored by `stop`.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig.0, &sa, &mut old) == 0 {
                    reg.previous.insert(sig.0, old);
                }
            }
        }
        match reg.chans.iter_mut().find(|(ch, _)| ch == c) {
            Some((_, have)) => {
                for s in sigs {
                    if !have.contains(s) {
                        have.push(*s);
                    }
                }
            }
            None => reg.chans.push((c.clone(), sigs.to_vec())),
        }
    }

    /// Stops relaying signals to `c` (Go's `signal.Stop`): when it returns
    /// `c` receives no more; a signal no channel wants any more gets its
    /// previous action back.
    ///
    /// # Example
    /// ```
    /// use go::os::signal::{self, Signal};
    ///
    /// let sigs = go::chan::Chan::new(1);
    /// signal::notify(&sigs, &[Signal::SIGUSR2]);
    /// signal::stop(&sigs);
    /// ```
    pub fn stop(c: &Chan<Signal>) {
        let mut reg = registry().lock();
        reg.chans.retain(|(ch, _)| ch != c);
        let wanted: Vec<i32> =
            reg.chans.iter().flat_map(|(_, sigs)| sigs.iter().map(|s| s.0)).collect();
        let unwanted: Vec<i32> =
            reg.previous.keys().copied().filter(|s| !wanted.contains(s)).collect();
        for sig in unwanted {
            if let Some(old) = reg.previous.remove(&sig) {
                // SAFETY: restoring the action `notify` replaced.
                unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
            }
        }
    }

    /// A copy of `parent` that is done when one of `sigs` arrives (all of
    /// [`Signal::CATCHABLE`] if empty), when the returned stop function is
    /// called, or when `parent` is done (Go's `signal.NotifyContext`). Call
    /// the stop function once done: it gives the signals back their
    /// default action.
    ///
    /// # Example
    /// ```
    /// use go::os::signal::{self, Signal};
    ///
    /// let (ctx, stop) = signal::notify_context(&go::context::background(), &[Signal::SIGUSR2]);
    /// // SAFETY: raising a signal this program now handles.
    /// unsafe { libc::raise(libc::SIGUSR2) };
    /// ctx.done().recv(); // a server would shut down here
    /// assert!(ctx.err().is_some());
    /// stop();
    /// ```
    #[must_use = "the stop function gives the signals their default action back: call it when done"]
    pub fn notify_context(
        parent: &Context,
        sigs: &[Signal],
    ) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
        let (ctx, cancel) = context::with_cancel(parent);
        let ch = Chan::new(1);
        notify(&ch, sigs);
        let (watch, watch_ctx, watch_cancel) = (ch.clone(), ctx.clone(), cancel.clone());
        drop(crate::spawn::spawn(move || {
            let done = watch_ctx.done();
            Select::new().recv(&watch, |_| watch_cancel()).recv(&done, |_| ()).wait();
            stop(&watch);
        }));
        let stop_fn = move || {
            stop(&ch);
            cancel();
        };
        (ctx, stop_fn)
    }
}
