//! Seed section 10, "Goroutines in Real Backend Applications":
//!
//! ```go
//! go processOrder()
//! go sendEmail()
//! go updateInventory()
//! ```
//!
//! Three simulated services (a payment gateway, a mail server, a stock
//! database), each a goroutine serving requests over a channel with its own
//! latency. Handling an order calls all three at once and waits for the
//! three replies, so it takes about as long as the slowest service, not the
//! sum of the three.

use std::time::{Duration, Instant};

use go::chan::{Chan, Sender};
use go::sync::WaitGroup;
use go::{go, make, select, time};

/// A request to a service: what to do, and where to send the answer.
struct Request {
    /// The order it is about.
    order: u32,
    /// Where the reply goes.
    reply: Sender<String>,
}

/// A service: answers each request after `latency`, concurrently.
fn service(name: &'static str, latency: Duration, requests: Chan<Request>) {
    for req in &requests {
        go!(move || {
            time::sleep(latency);
            req.reply.send(format!("{name}: order {} done", req.order));
        });
    }
}

fn process_order(order: u32, payments: &Chan<Request>, replies: &Chan<String>) {
    payments.send(Request { order, reply: replies.sender() });
}

fn send_email(order: u32, mail: &Chan<Request>, replies: &Chan<String>) {
    mail.send(Request { order, reply: replies.sender() });
}

fn update_inventory(order: u32, stock: &Chan<Request>, replies: &Chan<String>) {
    stock.send(Request { order, reply: replies.sender() });
}

#[go::main]
fn main() {
    let (payments, mail, stock) = (make!(chan Request), make!(chan Request), make!(chan Request));
    let latencies = [("payments", 120), ("mail", 200), ("inventory", 80)];
    go!(service("payments", Duration::from_millis(120), payments.clone()));
    go!(service("mail", Duration::from_millis(200), mail.clone()));
    go!(service("inventory", Duration::from_millis(80), stock.clone()));

    let start = Instant::now();
    let replies = make!(chan String, 3);
    let wg = WaitGroup::new();
    wg.go({
        let (payments, replies) = (payments.clone(), replies.clone());
        move || process_order(1, &payments, &replies)
    });
    go!(send_email(1, &mail, &replies));
    go!(update_inventory(1, &stock, &replies));
    let mut done = Vec::new();
    while done.len() < 3 {
        select! {
            case r := <-replies => done.push(r),
            case <-time::after(time::SECOND) => panic!("a service did not answer"),
        }
    }
    wg.wait();
    let elapsed = start.elapsed();
    done.sort();
    for r in &done {
        println!("{r}");
    }
    let slowest: u64 = latencies.iter().map(|l| l.1).max().unwrap_or(0);
    let sum: u64 = latencies.iter().map(|l| l.1).sum();
    println!(
        "order 1 handled in {} ms: about the slowest service ({slowest} ms), not the sum ({sum} ms)",
        elapsed.as_millis()
    );
}
