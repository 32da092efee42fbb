//! Go's deadlock report (docs/go-semantics.md, 58-61) and SIGQUIT dump, one
//! scenario per argument:
//!
//! ```text
//! cargo run --example deadlock -- range      # forgot to close: range never ends
//! cargo run --example deadlock -- mutex      # locked twice
//! cargo run --example deadlock -- select     # select on channels nobody uses
//! cargo run --example deadlock -- nocases    # select {} with nothing else to run
//! cargo run --example deadlock -- three      # a function, a method and a closure, all stuck
//! cargo run --example deadlock -- quiet      # timers, threads and goroutines: never reported
//! cargo run --example deadlock -- handshake  # a thread and a goroutine in turns: never reported
//! cargo run --example deadlock -- sigquit    # blocks; `kill -QUIT <pid>` prints the dump
//! ```
//!
//! The first three end with `fatal error: all goroutines are asleep -
//! deadlock!`, a dump of every goroutine, and exit status 2, as Go does:
//!
//! ```go
//! func main() {
//!     ch := make(chan int)
//!     go func() { for i := 0; i < 3; i++ { ch <- i } }() // no close(ch)
//!     for v := range ch { fmt.Println(v) }
//! }
//! ```

use go::chan::Chan;
use go::sync::{Mutex, WaitGroup};
use go::{go, make, select, time};

fn produce(ch: &Chan<i32>) {
    for i in 0..3 {
        ch.send(i);
    }
    // Forgot `ch.close()`.
}

fn range() {
    let ch = make!(chan i32);
    go!(produce(&ch));
    for v in &ch {
        println!("{v}");
    }
}

static M: Mutex<u32> = Mutex::new(0);

fn mutex() {
    let first = M.lock();
    println!("locked once: {}", *first);
    let second = M.lock(); // never returns
    println!("{}", *second);
}

fn select() {
    let (a, b) = (make!(chan u8), make!(chan u8));
    let wg = WaitGroup::new();
    wg.add(1);
    go!(wait_for(&wg));
    select! {
        case v := <-a => println!("{v}"),
        case b <- 1 => println!("sent"),
    }
}

fn wait_for(wg: &WaitGroup) {
    wg.wait();
}

/// Blocks for ever receiving from a channel nobody sends on.
fn worker(ch: &Chan<u8>) {
    ch.recv();
}

/// A value whose method blocks.
struct Server {
    /// What it waits for.
    requests: Chan<u8>,
}

impl Server {
    fn serve(&self) {
        self.requests.recv();
    }
}

/// Three goroutines stuck in three kinds of code: a named function, a
/// method, and a closure written inside this function; main waits for them.
fn three() {
    let ch = make!(chan u8);
    let wg = WaitGroup::new();
    wg.add(1);
    go!(worker(&ch));
    let server = Server { requests: make!(chan u8) };
    go!(move || server.serve());
    let never = make!(chan u8);
    go!(move || {
        never.recv();
    });
    wg.wait();
}

/// A plain thread and a goroutine answering it, in turns: never dead (the
/// thread always has the next move), so never reported, even when the
/// thread is slow to run after each wake-up.
fn handshake() {
    let (req, rep, done) = (make!(chan u32), make!(chan u32), make!(chan()));
    let (rq, rp) = (req.clone(), rep.clone());
    go!(move || {
        for v in &rq {
            rp.send(v + 1);
        }
    });
    let finished = done.clone();
    std::thread::spawn(move || {
        for i in 0..20 {
            req.send(i);
            assert_eq!(rep.recv(), Some(i + 1));
        }
        req.close();
        finished.close();
    });
    done.recv();
    println!("handshake: 20 rounds");
}

/// Goroutines that wait on timers, on each other and on a plain thread, in
/// many rounds: at no moment is the program dead, so it must never be
/// reported.
fn quiet() {
    let from_thread = make!(chan u32);
    let tx = from_thread.clone();
    let rounds = 1000;
    std::thread::spawn(move || {
        for i in 0..rounds {
            // The goroutines are all blocked while the thread sleeps; now
            // and then for longer than the deadlock check's first wait.
            let pause = if i % 100 == 0 { 30_000 } else { 200 };
            std::thread::sleep(std::time::Duration::from_micros(pause));
            tx.send(i);
        }
    });
    let relay = make!(chan u32);
    let out = relay.clone();
    go!(move || {
        for v in &from_thread {
            // Everyone else waits on this goroutine's timer meanwhile.
            let pause = if v % 100 == 50 { time::MILLISECOND * 30 } else { time::MICROSECOND * 50 };
            time::sleep(pause);
            out.send(v);
        }
    });
    let mut sum = 0u64;
    for _ in 0..rounds {
        sum += u64::from(relay.recv().unwrap_or(0));
    }
    println!("quiet: {sum}");
}

fn sigquit() {
    let ch = make!(chan());
    let tx = ch.clone();
    go!(move || tx.send(()));
    println!("pid {}", std::process::id());
    // A plain thread that never ends keeps this from being a deadlock.
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    });
    let never = make!(chan());
    never.recv();
}

#[go::main]
fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("range") => range(),
        Some("mutex") => mutex(),
        Some("select") => select(),
        Some("quiet") => quiet(),
        Some("nocases") => select! {},
        Some("three") => three(),
        Some("handshake") => handshake(),
        Some("sigquit") => sigquit(),
        _ => eprintln!("usage: deadlock range|mutex|select|nocases|three|handshake|quiet|sigquit"),
    }
}
