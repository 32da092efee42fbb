//! Soundness first (DESIGN.md): a started goroutine resumes only on its home
//! thread, so a `thread_local!` reference held across blocking calls stays
//! valid. Unstarted goroutines still spread over the workers.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::watchdog;
use go::sync::WaitGroup;

thread_local! {
    static SLOT: Cell<u64> = const { Cell::new(0) };
}

#[test]
fn thread_local_reference_survives_1000_blocking_calls_on_home_thread() {
    let _w = watchdog(Duration::from_secs(120), "thread-local soundness");
    let holders: Vec<_> = (0..8u64)
        .map(|n| {
            go::spawn(move || {
                let home = std::thread::current().id();
                SLOT.with(|slot| {
                    // `slot` is a reference into this thread's storage, held
                    // across every blocking call below.
                    slot.set(n);
                    let mut moved = 0;
                    for i in 0..1000u32 {
                        match i % 4 {
                            0 => go::runtime::gosched(),
                            1 => go::time::sleep(Duration::from_micros(50)),
                            2 => go::spawn(move || i).join().map(|_| ()).unwrap(),
                            _ => {
                                let wg = WaitGroup::new();
                                wg.go(go::runtime::gosched);
                                wg.wait();
                            }
                        }
                        if std::thread::current().id() != home {
                            moved += 1;
                        }
                        // Other goroutines on this thread may have written
                        // the slot, but it is still this thread's slot.
                        slot.set(n);
                    }
                    moved
                })
            })
        })
        .collect();
    // Noise: goroutines that block threads, so workers go idle and steal.
    let noise: Vec<_> = (0..200)
        .map(|_| go::spawn(|| std::thread::sleep(Duration::from_micros(200))))
        .collect();
    for h in noise {
        h.join().unwrap();
    }
    for h in holders {
        assert_eq!(
            h.join().unwrap(),
            0,
            "a started goroutine resumed on another thread"
        );
    }
}
