//! A randomized mix of every primitive at once, under a watchdog: a lost
//! wake-up anywhere shows up as a hang (and fails), a lost or duplicated
//! message as a wrong total.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use go::chan::{Chan, Select};
use go::sync::{Mutex, RwMutex, Semaphore, WaitGroup};

/// A small deterministic generator per goroutine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn chaos_every_primitive_at_once() {
    let _w = common::watchdog(Duration::from_secs(180), "chaos");
    for round in 0..3u64 {
        let chans: Vec<Chan<u64>> = (0..4).map(|i| Chan::new([0, 1, 8, 64][i])).collect();
        let sent = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::new(Mutex::new(0u64));
        let table = Arc::new(RwMutex::new(vec![0u64; 16]));
        let sem = Arc::new(Semaphore::new(3));
        let producers = WaitGroup::new();
        let consumers = WaitGroup::new();
        let mut locks = 0u64;
        for g in 0..24u64 {
            let (chans, sent, counter, table, sem) =
                (chans.clone(), sent.clone(), counter.clone(), table.clone(), sem.clone());
            let mut rng = Rng(0x9E37_79B9 ^ (round << 32) ^ (g + 1));
            locks += 300;
            producers.go(move || {
                for _ in 0..300 {
                    match rng.next() % 9 {
                        0 | 1 => {
                            let c = &chans[(rng.next() % 4) as usize];
                            c.send(1);
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        2 => {
                            let i = (rng.next() % 4) as usize;
                            let j = (i + 1) % 4;
                            Select::new()
                                .send(&chans[i], 1, || ())
                                .send(&chans[j], 1, || ())
                                .wait();
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        3 => go::time::sleep(Duration::from_micros(rng.next() % 200)),
                        4 => go::runtime::gosched(),
                        5 => {
                            let mut t = table.write();
                            let k = (rng.next() % 16) as usize;
                            t[k] += 1;
                        }
                        6 => {
                            let t = table.read();
                            assert!(t.iter().sum::<u64>() < u64::MAX);
                        }
                        7 => {
                            let n = 1 + rng.next() % 3;
                            sem.acquire(n);
                            go::runtime::gosched();
                            sem.release(n);
                        }
                        _ => {
                            let (a, b) = (rng.next(), rng.next());
                            let h = go::spawn(move || a.wrapping_add(b));
                            assert_eq!(h.join().unwrap(), a.wrapping_add(b));
                        }
                    }
                    *counter.lock() += 1;
                }
            });
        }
        for c in &chans {
            for _ in 0..2 {
                let (c, received) = (c.clone(), received.clone());
                consumers.go(move || {
                    for _ in &c {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
        producers.wait();
        chans.iter().for_each(Chan::close);
        consumers.wait();
        assert!(sent.load(Ordering::Relaxed) > 1000, "the mix sent too little to mean much");
        assert_eq!(sent.load(Ordering::Relaxed), received.load(Ordering::Relaxed), "round {round}");
        assert_eq!(*counter.lock(), locks);
    }
}
