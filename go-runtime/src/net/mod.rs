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
use std::time::Instant;

use crate::scheduler::{Dir, PollDesc};

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

/// Runs the non-blocking `op` until it does not return `WouldBlock`,
/// waiting on `pd` for readiness in `dir` in between, within the deadline.
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
