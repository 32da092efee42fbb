//! A load generator for the echo servers: `echoload <addr> <conns> <secs>`
//! opens `conns` connections (one OS thread each, plain blocking std
//! sockets, so the client is the same for every server), and on each sends
//! 64 bytes and reads them back, as fast as it can, for `secs` seconds.
//! Prints `rps=<round trips per second> p99_us=<99th percentile>`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let mut a = std::env::args().skip(1);
    let addr = a.next().expect("usage: echoload <addr> <conns> <secs>");
    let conns: usize = a.next().and_then(|s| s.parse().ok()).expect("conns");
    let secs: u64 = a.next().and_then(|s| s.parse().ok()).expect("secs");
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::Builder::new()
                .stack_size(64 << 10)
                .spawn(move || {
                    let mut c = TcpStream::connect(&addr).expect("connect");
                    c.set_nodelay(true).unwrap();
                    let msg = [7u8; 64];
                    let mut back = [0u8; 64];
                    let mut lat = Vec::with_capacity(1 << 16);
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        c.write_all(&msg).unwrap();
                        c.read_exact(&mut back).unwrap();
                        lat.push(t.elapsed().as_micros() as u32);
                    }
                    lat
                })
                .expect("thread")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or(0);
    println!("rps={:.0} p99_us={p99}", all.len() as f64 / secs as f64);
}
