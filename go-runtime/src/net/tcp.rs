//! TCP: [`TcpListener`] and [`TcpStream`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::time::Instant;

use super::{Sock, io_loop};
use crate::scheduler::Dir;

/// A TCP server socket (Go's `net.Listener` from `net.Listen("tcp", ...)`);
/// `accept` parks only the calling goroutine.
///
/// # Example
/// ```
/// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// assert!(ln.local_addr().unwrap().port() > 0);
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The socket, non-blocking.
    inner: std::net::TcpListener,
    /// Its readiness, accept deadline and turns.
    sock: Sock,
}

/// A TCP connection (Go's `net.Conn`). Reads and writes park only the
/// calling goroutine. `&TcpStream` also implements `Read` and `Write`, so
/// one goroutine may read while another writes (share it in an `Arc`);
/// concurrent reads (or writes) take turns, as in Go.
///
/// # Example
/// ```
/// use std::io::{Read, Write};
/// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = ln.local_addr().unwrap();
/// let h = go::spawn(move || {
///     let mut s = String::new();
///     ln.accept().unwrap().0.read_to_string(&mut s).unwrap();
///     s
/// });
/// let mut c = go::net::TcpStream::connect(addr).unwrap();
/// c.write_all(b"hi").unwrap();
/// drop(c);
/// assert_eq!(h.join().unwrap(), "hi");
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The socket, non-blocking.
    inner: std::net::TcpStream,
    /// Its readiness, deadlines and turns.
    sock: Sock,
}

impl TcpListener {
    /// Binds to `addr` and listens.
    ///
    /// # Errors
    /// As `std::net::TcpListener::bind`.
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    /// # drop(ln);
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let inner = std::net::TcpListener::bind(addr)?;
        // std listens with a backlog of 128; a burst of connections beyond
        // it gets reset. Go uses the system's maximum: so do we (calling
        // listen again on Linux only updates the backlog).
        // SAFETY: `listen` on our own listening socket.
        unsafe { libc::listen(inner.as_raw_fd(), max_backlog()) };
        inner.set_nonblocking(true)?;
        let sock = Sock::register(inner.as_raw_fd())?;
        Ok(TcpListener { inner, sock })
    }

    /// Waits for a connection (Go's `Accept`).
    ///
    /// # Errors
    /// `TimedOut` past the deadline; otherwise as `accept(2)`.
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = ln.local_addr().unwrap();
    /// let c = go::net::TcpStream::connect(addr).unwrap();
    /// let (s, peer) = ln.accept().unwrap();
    /// assert_eq!(peer, c.local_addr().unwrap());
    /// # drop(s);
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self.sock.io(Dir::Read, || self.inner.accept())?;
        Ok((TcpStream::from_std_connected(s)?, peer))
    }

    /// An endless iterator of accepted connections.
    ///
    /// # Example
    /// ```no_run
    /// let ln = go::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    /// for conn in ln.incoming() {
    ///     let conn = conn.unwrap();
    ///     go::spawn(move || drop(conn)); // one goroutine per connection
    /// }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// As `getsockname(2)`.
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(ln.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets (or clears) the deadline for `accept` (Go's `SetDeadline`).
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, Instant};
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// ln.set_deadline(Some(Instant::now() + Duration::from_millis(10)));
    /// let err = ln.accept().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(Some(t), None);
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.sock.deregister(self.inner.as_raw_fd());
    }
}

/// The listen backlog: `net.core.somaxconn`, as Go reads it.
fn max_backlog() -> libc::c_int {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(libc::SOMAXCONN)
}

/// Connections accepted from a [`TcpListener`]; never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener.
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A `sockaddr` for `addr`.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid `sockaddr_storage`.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for
            // `sockaddr_in`.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut ss).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for `sockaddr_in6`.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut ss).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

impl TcpStream {
    /// Connects to `addr` (Go's `net.Dial("tcp", addr)`), trying each
    /// address it resolves to; only the calling goroutine waits.
    ///
    /// # Errors
    /// The last address's error, as `connect(2)`.
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// assert_eq!(c.peer_addr().unwrap(), ln.local_addr().unwrap());
    /// ```
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to");
        for a in addr.to_socket_addrs()? {
            match Self::connect_one(&a) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn connect_one(addr: &SocketAddr) -> io::Result<TcpStream> {
        let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
        // SAFETY: plain system call.
        let fd = unsafe {
            libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new socket we own; std closes it on drop.
        let inner = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        let stream = TcpStream::from_std(inner)?;
        let (ss, len) = sockaddr(addr);
        // SAFETY: `ss` holds a valid address of `len` bytes.
        let r = unsafe { libc::connect(fd, std::ptr::from_ref(&ss).cast(), len) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            // Writable means connected (or failed: SO_ERROR says which).
            stream.sock.io(Dir::Write, || match stream.inner.take_error()? {
                Some(e) => Err(e),
                None => match stream.inner.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                },
            })?;
        }
        Ok(stream)
    }

    fn from_std(inner: std::net::TcpStream) -> io::Result<TcpStream> {
        let sock = Sock::register(inner.as_raw_fd())?;
        Ok(TcpStream { inner, sock })
    }

    fn from_std_connected(inner: std::net::TcpStream) -> io::Result<TcpStream> {
        inner.set_nonblocking(true)?;
        Self::from_std(inner)
    }

    /// The remote address.
    ///
    /// # Errors
    /// As `getpeername(2)`.
    ///
    /// # Example
    /// See [`TcpStream::connect`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As `getsockname(2)`.
    ///
    /// # Example
    /// See [`TcpListener::accept`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Shuts down reading, writing or both (Go's `CloseWrite`, ...).
    ///
    /// # Errors
    /// As `shutdown(2)`.
    ///
    /// # Example
    /// ```
    /// use std::io::Read;
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// let (mut s, _) = ln.accept().unwrap();
    /// c.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(s.read(&mut [0; 8]).unwrap(), 0); // end of stream
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    /// As `setsockopt(2)`.
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// c.set_nodelay(true).unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// Sets (or clears) the read deadline (Go's `SetReadDeadline`); a read
    /// waiting now is re-evaluated against it.
    ///
    /// # Example
    /// ```
    /// use std::io::Read;
    /// use std::time::{Duration, Instant};
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// c.set_read_deadline(Some(Instant::now() + Duration::from_millis(10)));
    /// let err = c.read(&mut [0; 4]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(Some(t), None);
    }

    /// Sets (or clears) the write deadline (Go's `SetWriteDeadline`).
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// c.set_write_deadline(None);
    /// ```
    pub fn set_write_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(None, Some(t));
    }

    /// Sets both deadlines (Go's `SetDeadline`).
    ///
    /// # Example
    /// ```
    /// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = go::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// c.set_deadline(None);
    /// ```
    pub fn set_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(Some(t), Some(t));
    }
}

/// Go's `io.Copy(dst, src)` between two TCP connections: copies until
/// `src` reaches end of stream, returning the bytes copied. Like Go, it moves
/// the data with `splice(2)` through a pipe, without copying it into user
/// memory; only the calling goroutine waits.
///
/// # Errors
/// A read or write error, or a deadline passing on either side.
///
/// # Example
/// ```
/// use std::io::{Read, Write};
/// let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = ln.local_addr().unwrap();
/// // An echo server: copy each connection back to itself.
/// go::spawn(move || {
///     let (c, _) = ln.accept().unwrap();
///     go::net::copy(&c, &c).unwrap();
/// });
/// let mut c = go::net::TcpStream::connect(addr).unwrap();
/// c.write_all(b"ping").unwrap();
/// let mut back = [0; 4];
/// c.read_exact(&mut back).unwrap();
/// assert_eq!(&back, b"ping");
/// ```
pub fn copy(dst: &TcpStream, src: &TcpStream) -> io::Result<u64> {
    /// A pipe, closed on drop.
    struct Pipe([RawFd; 2]);
    impl Drop for Pipe {
        fn drop(&mut self) {
            // SAFETY: closing the pipe's two descriptors, which we own.
            unsafe {
                libc::close(self.0[0]);
                libc::close(self.0[1]);
            }
        }
    }
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let pipe = Pipe(fds);
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    let splice = |from: RawFd, to: RawFd, len: usize| -> io::Result<usize> {
        // SAFETY: splicing between descriptors we hold, null offsets.
        let n = unsafe {
            libc::splice(from, std::ptr::null_mut(), to, std::ptr::null_mut(), len, flags)
        };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
    };
    let _in_turn = src.sock.turn(Dir::Read);
    let mut total = 0u64;
    loop {
        let n = io_loop(src.sock.pd, Dir::Read, &src.sock.deadlines, || {
            splice(src.as_raw_fd(), pipe.0[1], 1 << 20)
        })?;
        if n == 0 {
            return Ok(total);
        }
        let _out_turn = dst.sock.turn(Dir::Write);
        let mut left = n;
        while left > 0 {
            let m = io_loop(dst.sock.pd, Dir::Write, &dst.sock.deadlines, || {
                splice(pipe.0[0], dst.as_raw_fd(), left)
            })?;
            left -= m;
        }
        total += n as u64;
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Dir::Read, || (&self.inner).read(buf))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io(Dir::Write, || (&self.inner).write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.sock.deregister(self.inner.as_raw_fd());
    }
}
