// Every valid form of every macro, compiled (behaviour: tests/macros.rs).
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use go::chan::{Chan, Receiver, Sender};
use go::sync::WaitGroup;
use go::{defer, go, goroutine, make, select, waitgroup};

#[goroutine]
fn worker(id: u64, wg: &WaitGroup, out: &Sender<u64>) {
    defer!(wg.done());
    out.send(id);
}

#[goroutine]
fn owned(v: Vec<u8>, total: Arc<AtomicU64>) -> usize {
    total.fetch_add(v.len() as u64, Ordering::Relaxed);
    v.len()
}

struct Svc;

impl Svc {
    #[goroutine]
    fn run(self: Arc<Self>, n: u32) -> u32 {
        n
    }
}

#[allow(dead_code)]
fn block_forever() -> ! {
    select! {}
}

fn add(t: &AtomicU64, v: u64) {
    t.fetch_add(v, Ordering::Relaxed);
}

#[go::main(gomaxprocs = 2, stack_size = 16 << 20, goroutine_stack_size = 256 << 10)]
fn main() {
    let wg = WaitGroup::new();
    let ch: Chan<u64> = make!(chan u64, 10);
    let tx: Sender<u64> = ch.sender();
    for i in 1..=3 {
        wg.add(1);
        go!(worker(i, &wg, &tx));
    }
    wg.wait();
    let total = Arc::new(AtomicU64::new(0));
    let h = go!(owned(vec![1, 2], total.clone()));
    let svc = Arc::new(Svc);
    let h2 = go!(svc.run(7));
    let h3 = go!(svc.clone().run(8));
    go!({
        println!("block");
    });
    let msg = String::from("closure");
    go!(move || println!("{msg}"));
    go!((move |x: u32| x + 1)(1));
    go!(println!("macro"));
    let rx: Receiver<u64> = ch.receiver();
    let done = make!(chan struct{});
    let out = make!(chan u64, 1);
    let mut last = 0;
    let mut ok = true;
    for _ in 0..3 {
        select! {
            case v := <-rx => last = v,
            case _ := <-done => {},
            case v, ok2 := <-done => { let _ = (v, ok2); }
            case <-go::time::after(go::time::SECOND) => {},
        }
    }
    select! {
        case last, ok = <-ch => {},
        case out <- 5 => {},
        default => {},
    }
    let _ = (last, ok);
    {
        let shared = AtomicU64::new(0);
        let n = waitgroup! {
            go add(&shared, 1);
            go shared.fetch_add(1, Ordering::Relaxed);
            go {
                shared.fetch_add(1, Ordering::Relaxed);
            };
            go || add(&shared, 1);
            3
        };
        let _ = (n, h.join(), h2.join(), h3.join());
    }
}
