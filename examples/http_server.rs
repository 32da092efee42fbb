//! A small HTTP/1.1 server, one goroutine per connection (the tutorial's
//! "Handling HTTP requests"). Keep-alive, pipelining, request bodies by
//! `Content-Length`; every request gets `Hello, World!`. Requests are parsed
//! with `httparse`; headers past 8 KiB get 431, a bad or duplicated
//! `Content-Length` 400, a body past 1 MiB 413, and the connection closes,
//! so one client cannot hold up the others.
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
/// The most a request's headers may take; past it: 431, as Go's
/// `http.Server` answers (its default limit is 1 MB; ours is small).
const MAX_HEADER_BYTES: usize = 8 << 10;
/// The largest request body accepted; past it: 413.
const MAX_BODY_BYTES: u64 = 1 << 20;

/// What to do with the start of `buf`.
enum Next {
    /// A complete request of `len` bytes (headers and body); `close` if the
    /// client asked for it.
    Request { len: usize, close: bool },
    /// Not complete yet: read more.
    More,
    /// A request we refuse: answer this status line and close.
    Refuse(&'static str),
}

/// Parses the first request in `buf` with `httparse`: its headers (at most
/// `MAX_HEADER_BYTES`, 64 of them) and a body of `Content-Length` bytes.
fn next_request(buf: &[u8]) -> Next {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n <= MAX_HEADER_BYTES => n,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEADER_BYTES => return Next::More,
        Ok(_) | Err(httparse::Error::TooManyHeaders) => {
            return Next::Refuse("431 Request Header Fields Too Large");
        }
        Err(_) => return Next::Refuse("400 Bad Request"),
    };
    let mut body_len: Option<u64> = None;
    let mut close = req.version == Some(0);
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            // Digits only; two different lengths are an attack, not a typo.
            let len = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                // Go's limit: a length must fit in an int64.
                .filter(|&l| l <= i64::MAX as u64);
            match (len, body_len) {
                (None, _) => return Next::Refuse("400 Bad Request"),
                (Some(l), Some(prev)) if l != prev => return Next::Refuse("400 Bad Request"),
                (Some(l), _) => body_len = Some(l),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked bodies are not read by this small server.
            return Next::Refuse("501 Not Implemented");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY_BYTES {
        return Next::Refuse("413 Content Too Large");
    }
    // Both fit in usize: the body is at most 1 MiB.
    let len = head_len + body_len as usize;
    if buf.len() < len { Next::More } else { Next::Request { len, close } }
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
        loop {
            match next_request(&buf) {
                Next::More => break,
                Next::Refuse(status) => {
                    out.extend_from_slice(b"HTTP/1.1 ");
                    out.extend_from_slice(status.as_bytes());
                    out.extend_from_slice(b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    close = true;
                    break;
                }
                Next::Request { len, close: last } => {
                    buf.drain(..len);
                    close = last;
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
