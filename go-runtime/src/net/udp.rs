//! UDP: [`UdpSocket`].

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Instant;

use super::Sock;
use crate::scheduler::Dir;

/// A UDP socket (Go's `net.UDPConn`); receives park only the calling
/// goroutine.
///
/// # Example
/// ```
/// let a = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).unwrap();
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The socket, non-blocking.
    inner: std::net::UdpSocket,
    /// Its readiness, deadlines and turns.
    sock: Sock,
}

impl UdpSocket {
    /// Binds to `addr`.
    ///
    /// # Errors
    /// As `std::net::UdpSocket::bind`.
    ///
    /// # Example
    /// See [`UdpSocket`].
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let inner = std::net::UdpSocket::bind(addr)?;
        inner.set_nonblocking(true)?;
        let sock = Sock::register(inner.as_raw_fd())?;
        Ok(UdpSocket { inner, sock })
    }

    /// Receives one datagram and its sender.
    ///
    /// # Errors
    /// `TimedOut` past the read deadline; otherwise as `recvfrom(2)`.
    ///
    /// # Example
    /// See [`UdpSocket`].
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock.io(Dir::Read, || self.inner.recv_from(buf))
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    /// `TimedOut` past the write deadline; otherwise as `sendto(2)`.
    ///
    /// # Example
    /// See [`UdpSocket`].
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        self.sock.io(Dir::Write, || self.inner.send_to(buf, addr))
    }

    /// Sets the default peer for `send` and `recv`.
    ///
    /// # Errors
    /// As `connect(2)`.
    ///
    /// # Example
    /// ```
    /// let a = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// a.send(b"x").unwrap();
    /// assert_eq!(b.recv(&mut [0; 4]).unwrap(), 1);
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.inner.connect(addr)
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    /// As `send(2)`.
    ///
    /// # Example
    /// See [`UdpSocket::connect`].
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io(Dir::Write, || self.inner.send(buf))
    }

    /// Receives one datagram (from the connected peer, if any).
    ///
    /// # Errors
    /// `TimedOut` past the read deadline; otherwise as `recv(2)`.
    ///
    /// # Example
    /// See [`UdpSocket::connect`].
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Dir::Read, || self.inner.recv(buf))
    }

    /// The local address.
    ///
    /// # Errors
    /// As `getsockname(2)`.
    ///
    /// # Example
    /// See [`UdpSocket`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets (or clears) the read deadline.
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, Instant};
    /// let s = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_read_deadline(Some(Instant::now() + Duration::from_millis(10)));
    /// assert_eq!(s.recv(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(Some(t), None);
    }

    /// Sets (or clears) the write deadline.
    ///
    /// # Example
    /// ```
    /// let s = go::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_write_deadline(None);
    /// ```
    pub fn set_write_deadline(&self, t: Option<Instant>) {
        self.sock.set_deadlines(None, Some(t));
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.sock.deregister(self.inner.as_raw_fd());
    }
}
