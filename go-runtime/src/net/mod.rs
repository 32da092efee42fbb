//! Goroutine-aware networking (Go's `net`): [`TcpListener`], [`TcpStream`]
//! and [`UdpSocket`] with std-like APIs whose blocking calls park only the
//! calling goroutine, over one netpoller (epoll) driven by idle workers
//! (the scheduler's `netpoll.rs`). Read and write deadlines work like Go's
//! `SetDeadline`: an operation past its deadline fails with
//! `ErrorKind::TimedOut` (`i/o timeout`).
//!
//! Design note: `scheduler/netpoll.rs` (the readiness protocol, who polls,
//! why descriptors are recycled rather than freed).
//!
//! # Example
//! ```
//! use std::io::{Read, Write};
//! use go::net::{TcpListener, TcpStream};
//!
//! let ln = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = ln.local_addr().unwrap();
//! let server = go::spawn(move || {
//!     let (mut conn, _) = ln.accept().unwrap();
//!     let mut buf = [0; 5];
//!     conn.read_exact(&mut buf).unwrap();
//!     conn.write_all(&buf).unwrap(); // echo
//! });
//! let mut c = TcpStream::connect(addr).unwrap();
//! c.write_all(b"hello").unwrap();
//! let mut back = [0; 5];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"hello");
//! server.join().unwrap();
//! ```

mod tcp;
mod udp;

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

use crate::scheduler::{self, Dir, PollDesc};
use crate::sync::{Mutex, MutexGuard};

pub use self::tcp::{Incoming, TcpListener, TcpStream, copy};
pub use self::udp::UdpSocket;

/// Go's `os.ErrDeadlineExceeded`, as an `io::Error` of kind `TimedOut`.
fn timeout_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

/// A socket's read and write deadlines.
#[derive(Debug, Default)]
struct Deadlines {
    /// (read, write).
    at: parking_lot::Mutex<(Option<Instant>, Option<Instant>)>,
}

impl Deadlines {
    fn get(&self, dir: Dir) -> Option<Instant> {
        let at = self.at.lock();
        match dir {
            Dir::Read => at.0,
            Dir::Write => at.1,
        }
    }

    /// Sets the read and/or write deadline (`None`: leave it), then wakes
    /// the waiters of `pd` so that they look at the new deadlines.
    fn set(&self, pd: &PollDesc, read: Option<Option<Instant>>, write: Option<Option<Instant>>) {
        {
            let mut at = self.at.lock();
            if let Some(r) = read {
                at.0 = r;
            }
            if let Some(w) = write {
                at.1 = w;
            }
        }
        pd.interrupt();
    }
}

/// What every socket keeps beside its descriptor: its readiness, its
/// deadlines, and a turn per direction (Go's `fdMutex`).
///
/// A `PollDesc` holds one waiter per direction (`scheduler/netpoll.rs`), and
/// one readiness edge wakes that one waiter. So callers of one direction
/// take turns here, FIFO, and only the one whose turn it is waits on the
/// `PollDesc`: two goroutines in `accept` on one listener, or in
/// `recv_from` on one UDP socket, both complete.
#[derive(Debug)]
struct Sock {
    /// Its readiness.
    pd: &'static PollDesc,
    /// Read and write deadlines.
    deadlines: Deadlines,
    /// Held by the caller reading (accepting, receiving) now.
    read_turn: Mutex<()>,
    /// Held by the caller writing (connecting, sending) now.
    write_turn: Mutex<()>,
}

impl Sock {
    /// Registers the non-blocking descriptor `fd` with the netpoller.
    fn register(fd: RawFd) -> io::Result<Sock> {
        Ok(Sock {
            pd: scheduler::poll_register(fd)?,
            deadlines: Deadlines::default(),
            read_turn: Mutex::new(()),
            write_turn: Mutex::new(()),
        })
    }

    /// Waits for the turn of `dir`.
    fn turn(&self, dir: Dir) -> MutexGuard<'_, ()> {
        match dir {
            Dir::Read => self.read_turn.lock(),
            Dir::Write => self.write_turn.lock(),
        }
    }

    /// Runs the non-blocking `op` in the turn of `dir` (see [`io_loop`]).
    fn io<T>(&self, dir: Dir, op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        scheduler::checkpoint();
        let _turn = self.turn(dir);
        io_loop(self.pd, dir, &self.deadlines, op)
    }

    /// Sets deadlines (`None`: leave it) and wakes the waiters to look.
    fn set_deadlines(&self, read: Option<Option<Instant>>, write: Option<Option<Instant>>) {
        self.deadlines.set(self.pd, read, write);
    }

    /// Forgets `fd`, about to be closed.
    fn deregister(&self, fd: RawFd) {
        scheduler::poll_deregister(fd, self.pd);
    }
}

/// Runs the non-blocking `op` until it does not return `WouldBlock`,
/// waiting on `pd` for readiness in `dir` in between, within the deadline.
/// The caller holds the turn of `dir` ([`Sock`]).
fn io_loop<T>(
    pd: &PollDesc,
    dir: Dir,
    deadlines: &Deadlines,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        let deadline = deadlines.get(dir);
        if deadline.is_some_and(|t| Instant::now() >= t) {
            return Err(timeout_error());
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !pd.wait(dir, deadline) {
                    return Err(timeout_error());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}
