//! Goroutines and async Rust together (`--features tokio`).
//!
//! A small lookup service runs Go style (a `go::net` listener, a goroutine
//! per connection). Eight goroutines fan out to it through an *async*
//! client (`tokio::net::TcpStream`, as a database or HTTP client library
//! would be), each with `go::block_on`, which parks only its goroutine; the
//! answers are gathered over a channel. Then the other direction: a tokio
//! task awaits a goroutine's `JoinHandle` and a channel's `recv_async`.
//!
//! Run with `cargo run --example async_bridge --features tokio`.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use go::chan::Chan;
use go::sync::WaitGroup;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The service: one goroutine per connection, answering each line with
/// its length after a short delay (a slow backend).
fn serve(ln: go::net::TcpListener) {
    for conn in ln.incoming() {
        let Ok(conn) = conn else { return };
        go::spawn(move || {
            // `&TcpStream` reads and writes, as Go's `net.Conn` does both.
            for line in BufReader::new(&conn).lines() {
                let Ok(line) = line else { return };
                go::time::sleep(Duration::from_millis(20));
                if writeln!(&conn, "{line}={}", line.len()).is_err() {
                    return;
                }
            }
        });
    }
}

/// An async client, as a library would offer it.
async fn lookup(addr: std::net::SocketAddr, word: &str) -> std::io::Result<String> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(format!("{word}\n").as_bytes()).await?;
    let mut answer = String::new();
    tokio::io::BufReader::new(read).read_line(&mut answer).await?;
    Ok(answer.trim_end().to_string())
}

fn main() {
    let ln = go::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = ln.local_addr().expect("address");
    go::spawn(move || serve(ln));

    // Fan out: each goroutine calls the async client; only it waits.
    let words = ["go", "rust", "goroutine", "channel", "select", "tokio", "future", "mutex"];
    let answers = Chan::new(words.len());
    let wg = WaitGroup::new();
    for word in words {
        let answers = answers.clone();
        wg.go(move || {
            let answer = go::block_on(lookup(addr, word)).expect("lookup");
            answers.send(answer);
        });
    }
    wg.wait();
    answers.close();
    let mut all: Vec<String> = answers.iter().collect();
    all.sort();
    println!("{}", all.join(" "));

    // The other way round: a tokio task awaits goroutines and channels.
    let ch = Chan::new(0);
    let tx = ch.clone();
    let worker = go::spawn(move || {
        for i in 1..=3 {
            tx.send(i * 10);
        }
        tx.close();
        "worker done"
    });
    let task = go::tokio_handle().spawn(async move {
        let mut sum = 0;
        while let Some(v) = ch.recv_async().await {
            sum += v;
        }
        let status = worker.await.expect("the worker does not panic");
        format!("tokio task got {sum} and \"{status}\"")
    });
    println!("{}", go::block_on(task).expect("the task does not panic"));
}
