//! A small HTTP/1.1 server, one goroutine per connection (the tutorial's
//! "Handling HTTP requests"). Keep-alive, pipelining, request
//! bodies by `Content-Length`; every request gets `Hello, World!`.
//!
//! ```go
//! http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//!     fmt.Fprint(w, "Hello, World!")
//! })
//! http.ListenAndServe(":8080", nil)
//! ```
//!
//! ```text
//! cargo run --release --example http_server -- 127.0.0.1:8080
//! wrk -t2 -c50 -d10s http://127.0.0.1:8080/
//! ```
//! With no address it serves on a free port, sends itself two pipelined
//! requests on one connection, counts the replies, and exits.

use std::io::{Read, Write};

use go::go;
use go::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"Hello, World!";

/// The index just past the blank line ending the headers in `buf`.
fn headers_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The value of header `name` (lower case) in `head`.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn handle(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete request in the buffer (pipelining), then
        // write all the answers at once.
        let mut close = false;
        while let Some(end) = headers_end(&buf) {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let body_len: usize =
                header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            if buf.len() < end + body_len {
                break;
            }
            buf.drain(..end + body_len);
            let http10 = head.lines().next().is_some_and(|l| l.ends_with("HTTP/1.0"));
            close = header(&head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
                || http10;
            out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ",
            );
            out.extend_from_slice(BODY.len().to_string().as_bytes());
            out.extend_from_slice(if close {
                b"\r\nConnection: close\r\n\r\n"
            } else {
                b"\r\n\r\n"
            });
            out.extend_from_slice(BODY);
            if close {
                break;
            }
        }
        if !out.is_empty() {
            if conn.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn serve(ln: TcpListener) {
    for conn in ln.incoming().flatten() {
        go!(handle(conn));
    }
}

#[go::main]
fn main() {
    let addr = std::env::args().nth(1);
    let ln = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:0")).expect("listen");
    let local = ln.local_addr().expect("address");
    if addr.is_some() {
        println!("http server on http://{local}/");
        serve(ln);
        return;
    }
    go!(serve(ln));
    let mut c = TcpStream::connect(local).expect("connect");
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut reply = String::new();
    c.read_to_string(&mut reply).expect("read");
    println!(
        "{} responses `HTTP/1.1 200 OK`, {} bodies `Hello, World!`",
        reply.matches("HTTP/1.1 200 OK\r\n").count(),
        reply.matches("Hello, World!").count()
    );
}
