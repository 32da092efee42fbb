//! go::net: sockets whose blocking calls park only the goroutine. Every
//! test runs under a watchdog, and CI runs them at GOMAXPROCS=1 too.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::watchdog;
use go::net::{TcpListener, TcpStream, UdpSocket};
use go::sync::WaitGroup;

/// An echo server: one goroutine per connection, Go style.
fn echo_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let s = served.clone();
    go::spawn(move || {
        for conn in ln.incoming() {
            let mut conn = conn.unwrap();
            let s = s.clone();
            go::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                s.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, served)
}

/// A checksum that catches lost, duplicated and reordered bytes.
fn fnv(data: &[u8]) -> u64 {
    data.iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn a_thousand_concurrent_echo_connections_lose_nothing() {
    let _w = watchdog(Duration::from_secs(120), "1000 echo connections");
    let (addr, served) = echo_server();
    const CONNS: usize = 1000;
    let ok = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for c in 0..CONNS {
        let ok = ok.clone();
        wg.go(move || {
            // Each client sends its own pattern in uneven chunks while a
            // second goroutine reads the echo back.
            let data: Vec<u8> = (0..8192 + c).map(|i| (i * 31 + c * 7) as u8).collect();
            let conn = Arc::new(TcpStream::connect(addr).unwrap());
            let reader = conn.clone();
            let want = data.len();
            let back = go::spawn(move || {
                let mut got = Vec::with_capacity(want);
                let mut buf = [0u8; 1500];
                while got.len() < want {
                    let n = (&*reader).read(&mut buf).unwrap();
                    assert!(n > 0, "early end of stream");
                    got.extend_from_slice(&buf[..n]);
                }
                got
            });
            for chunk in data.chunks(700 + c % 300) {
                (&*conn).write_all(chunk).unwrap();
            }
            let got = back.join().unwrap_or_else(|p| {
                panic!(
                    "reader: {:?}",
                    p.downcast_ref::<String>()
                        .map(String::as_str)
                        .or(p.downcast_ref::<&str>().copied())
                )
            });
            assert_eq!(fnv(&got), fnv(&data));
            ok.fetch_add(1, Ordering::SeqCst);
        });
    }
    wg.wait();
    assert_eq!(ok.load(Ordering::SeqCst), CONNS);
    // Every server goroutine sees its client go away.
    let start = Instant::now();
    while served.load(Ordering::SeqCst) < CONNS && start.elapsed() < Duration::from_secs(30) {
        go::time::sleep(Duration::from_millis(5));
    }
    assert_eq!(served.load(Ordering::SeqCst), CONNS);
}

#[test]
fn a_slow_client_does_not_hold_up_the_others() {
    let _w = watchdog(Duration::from_secs(60), "slow client");
    let (addr, _) = echo_server();
    let slow_done = Arc::new(AtomicBool::new(false));
    let sd = slow_done.clone();
    let slow = go::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        // Sits on its connection for a second before reading.
        go::time::sleep(Duration::from_secs(1));
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        sd.store(true, Ordering::SeqCst);
    });
    go::time::sleep(Duration::from_millis(20));
    let wg = WaitGroup::new();
    for i in 0..100u8 {
        wg.go(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(&[i; 64]).unwrap();
            let mut b = [0u8; 64];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b, [i; 64]);
        });
    }
    wg.wait();
    assert!(!slow_done.load(Ordering::SeqCst), "the others waited for the slow client");
    slow.join().unwrap();
}

#[test]
fn peers_closing_mid_stream_end_the_other_side_cleanly() {
    let _w = watchdog(Duration::from_secs(60), "peer closes");
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = go::spawn(move || {
        let mut results = Vec::new();
        for _ in 0..20 {
            let (mut conn, _) = ln.accept().unwrap();
            let mut got = Vec::new();
            // The client wrote some bytes and vanished: the read ends (EOF
            // or reset), it does not hang.
            let end = conn.read_to_end(&mut got);
            // Writing to the gone peer fails sooner or later, without
            // killing the process (SIGPIPE is ignored).
            let mut write_failed = false;
            for _ in 0..100 {
                if conn.write_all(&[0u8; 65536]).is_err() {
                    write_failed = true;
                    break;
                }
            }
            results.push((end.is_ok(), got.len(), write_failed));
        }
        results
    });
    for _ in 0..20 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&[7u8; 3000]).unwrap();
        drop(c);
    }
    for (clean_eof, n, write_failed) in server.join().unwrap() {
        assert!(n <= 3000);
        assert!(clean_eof || n < 3000);
        assert!(write_failed);
    }
}

#[test]
fn deadlines_fire_and_can_be_moved_while_waiting() {
    let _w = watchdog(Duration::from_secs(60), "deadlines");
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    // Accept deadline.
    ln.set_deadline(Some(Instant::now() + Duration::from_millis(30)));
    let t = Instant::now();
    assert_eq!(ln.accept().unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() >= Duration::from_millis(25));
    ln.set_deadline(None);

    let client = Arc::new(TcpStream::connect(addr).unwrap());
    let (server_side, _) = ln.accept().unwrap();
    // Read deadline: fires after about its time, not at once, not never.
    client.set_read_deadline(Some(Instant::now() + Duration::from_millis(50)));
    let t = Instant::now();
    let err = (&*client).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!((err.kind(), err.to_string()), (ErrorKind::TimedOut, "i/o timeout".into()));
    assert!(t.elapsed() >= Duration::from_millis(45), "{:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(5));
    // A deadline in the past fails at once, even with data waiting.
    (&server_side).write_all(b"data").unwrap();
    client.set_read_deadline(Some(Instant::now() - Duration::from_millis(1)));
    assert_eq!((&*client).read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::TimedOut);
    // Cleared, the data is there.
    client.set_read_deadline(None);
    let mut b = [0u8; 4];
    (&*client).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"data");
    // A reader waiting with no deadline is released by a deadline set from
    // another goroutine (Go's way to cancel a blocked read).
    let c2 = client.clone();
    let blocked = go::spawn(move || (&*c2).read(&mut [0u8; 8]).map_err(|e| e.kind()));
    go::time::sleep(Duration::from_millis(30));
    client.set_read_deadline(Some(Instant::now()));
    assert_eq!(blocked.join().unwrap(), Err(ErrorKind::TimedOut));
    // Write deadline: fill the socket buffers until the write blocks.
    client.set_read_deadline(None);
    client.set_write_deadline(Some(Instant::now() + Duration::from_millis(100)));
    let chunk = vec![1u8; 1 << 16];
    let err = loop {
        if let Err(e) = (&*client).write(&chunk) {
            break e;
        }
    };
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    drop(server_side);
}

#[test]
fn udp_round_trips_and_read_deadline() {
    let _w = watchdog(Duration::from_secs(30), "udp");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let h = go::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..100 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(addr).unwrap();
    for i in 0..100u32 {
        client.send(&i.to_le_bytes()).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(client.recv(&mut b).unwrap(), 4);
        assert_eq!(u32::from_le_bytes(b), i);
    }
    h.join().unwrap();
    client.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
    assert_eq!(client.recv(&mut [0u8; 4]).unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn plain_threads_use_the_same_sockets() {
    let _w = watchdog(Duration::from_secs(30), "threads");
    let (addr, _) = echo_server();
    let hs: Vec<_> = (0..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                for _ in 0..50 {
                    c.write_all(&[i; 100]).unwrap();
                    let mut b = [0u8; 100];
                    c.read_exact(&mut b).unwrap();
                    assert_eq!(b, [i; 100]);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// `go::net::copy` (Go's `io.Copy` between TCP connections, with splice):
/// a proxy in front of the echo server passes 1 MiB through both ways.
#[test]
fn copy_proxies_a_megabyte_both_ways() {
    let _w = watchdog(Duration::from_secs(60), "copy proxy");
    let (echo, _) = echo_server();
    let front = TcpListener::bind("127.0.0.1:0").unwrap();
    let front_addr = front.local_addr().unwrap();
    go::spawn(move || {
        let (client, _) = front.accept().unwrap();
        let (client, backend) = (Arc::new(client), Arc::new(TcpStream::connect(echo).unwrap()));
        let (c2, b2) = (client.clone(), backend.clone());
        let up = go::spawn(move || {
            let n = go::net::copy(&b2, &c2).unwrap();
            b2.shutdown(std::net::Shutdown::Write).unwrap();
            n
        });
        let down = go::net::copy(&client, &backend).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(up.join().unwrap(), down);
    });
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let c = Arc::new(TcpStream::connect(front_addr).unwrap());
    let reader = c.clone();
    let back = go::spawn(move || {
        let mut got = Vec::new();
        (&*reader).read_to_end(&mut got).unwrap();
        got
    });
    (&*c).write_all(&data).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(fnv(&back.join().unwrap()), fnv(&data));
}

/// Runs `name`'s child body at GOMAXPROCS 1, 2 and 4 (in child processes)
/// and checks it printed `done`.
fn at_each_gomaxprocs(name: &str) {
    for procs in ["1", "2", "4"] {
        let out = common::run_child(name, &[("GOMAXPROCS", procs)]);
        let (stdout, stderr) = common::texts(&out);
        assert!(out.status.success(), "GOMAXPROCS={procs}: {stderr}");
        assert!(stdout.contains("done"), "GOMAXPROCS={procs}: {stdout}");
    }
}

/// Several goroutines in `accept` on one listener (Go serialises them on
/// the descriptor's read lock): every connection is accepted and every
/// acceptor returns when the deadline releases them.
#[test]
fn eight_acceptors_on_one_listener_all_complete() {
    const NAME: &str = "eight_acceptors_on_one_listener_all_complete";
    if !common::is_child(NAME) {
        return at_each_gomaxprocs(NAME);
    }
    let _w = watchdog(Duration::from_secs(60), "8 acceptors x 1000 connections");
    const CONNS: usize = 1000;
    let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = ln.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for _ in 0..8 {
        let (ln, accepted) = (ln.clone(), accepted.clone());
        wg.go(move || {
            loop {
                match ln.accept() {
                    Ok((mut conn, _)) => {
                        let mut b = [0u8; 1];
                        conn.read_exact(&mut b).unwrap();
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::TimedOut);
                        return;
                    }
                }
            }
        });
    }
    let clients = WaitGroup::new();
    for _ in 0..CONNS {
        clients.go(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"x").unwrap();
        });
    }
    clients.wait();
    while accepted.load(Ordering::SeqCst) < CONNS {
        go::time::sleep(go::time::MILLISECOND);
    }
    // Every acceptor is now parked in `accept`: the deadline must reach all.
    ln.set_deadline(Some(Instant::now()));
    wg.wait();
    assert_eq!(accepted.load(Ordering::SeqCst), CONNS);
    println!("done");
}

/// Several goroutines in `recv_from` on one UDP socket: every datagram is
/// received once, and every receiver returns when the deadline releases
/// them.
#[test]
fn eight_receivers_on_one_udp_socket_all_complete() {
    const NAME: &str = "eight_receivers_on_one_udp_socket_all_complete";
    if !common::is_child(NAME) {
        return at_each_gomaxprocs(NAME);
    }
    let _w = watchdog(Duration::from_secs(60), "8 receivers x 10000 datagrams");
    const DATAGRAMS: usize = 10_000;
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let to = sock.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for _ in 0..8 {
        let (sock, received) = (sock.clone(), received.clone());
        wg.go(move || {
            let mut buf = [0u8; 64];
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        assert_eq!(n, 8);
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::TimedOut);
                        return;
                    }
                }
            }
        });
    }
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..DATAGRAMS {
        // At most 64 in flight, so that the kernel never drops one for a
        // full receive buffer.
        while i - received.load(Ordering::SeqCst) >= 64 {
            go::runtime::gosched();
        }
        tx.send_to(&(i as u64).to_le_bytes(), to).unwrap();
    }
    while received.load(Ordering::SeqCst) < DATAGRAMS {
        go::time::sleep(go::time::MILLISECOND);
    }
    sock.set_read_deadline(Some(Instant::now()));
    wg.wait();
    assert_eq!(received.load(Ordering::SeqCst), DATAGRAMS);
    println!("done");
}
