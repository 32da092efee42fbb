//! A TCP echo server, one goroutine per connection, Go style:
//!
//! ```go
//! ln, _ := net.Listen("tcp", ":7000")
//! for {
//!     conn, _ := ln.Accept()
//!     go func(c net.Conn) { defer c.Close(); io.Copy(c, c) }(conn)
//! }
//! ```
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:7000
//! ```
//! With no address it serves on a free port, talks to itself once, and
//! exits (what `cargo test` runs).

use std::io::{Read, Write};

use go::go;
use go::net::{TcpListener, TcpStream};

fn handle(mut conn: TcpStream) {
    let mut buf = [0u8; 16 << 10];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn serve(ln: TcpListener) {
    for conn in ln.incoming() {
        match conn {
            Ok(conn) => {
                go!(handle(conn));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

#[go::main]
fn main() {
    let addr = std::env::args().nth(1);
    let ln = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:0")).expect("listen");
    let local = ln.local_addr().expect("address");
    if addr.is_some() {
        println!("echo server on {local}");
        serve(ln);
        return;
    }
    go!(serve(ln));
    let mut c = TcpStream::connect(local).expect("connect");
    c.write_all(b"hello, echo").expect("write");
    let mut back = [0u8; 11];
    c.read_exact(&mut back).expect("read");
    println!("{}", String::from_utf8_lossy(&back));
}
