//! Deadlock detection (docs/go-semantics.md, 58-61), goroutine introspection and
//! the SIGQUIT dump. Crash cases run `examples/deadlock.rs` as a child
//! process (a test binary keeps threads of its own, which rightly prevent
//! a deadlock report) and check its stderr and exit status.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{run_example, texts};
use go::runtime::{GoroutineState, WaitReason};

const DEADLOCK: &str = "fatal error: all goroutines are asleep - deadlock!\n\n";

/// docs/go-semantics.md, 58: the forgotten-close `range`.
#[test]
fn item_58_forgotten_close_range_is_a_deadlock() {
    let out = run_example("deadlock", &["range"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "0\n1\n2\n");
    assert!(stderr.starts_with(&format!("{DEADLOCK}goroutine 1 [chan receive]:\n")), "{stderr}");
    // The producer finished; only main is left.
    assert_eq!(stderr.matches("goroutine ").count(), 1, "{stderr}");
}

/// docs/go-semantics.md, 58/59: a Mutex locked twice.
#[test]
fn item_59_mutex_deadlock_names_the_mutex() {
    let out = run_example("deadlock", &["mutex"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("{DEADLOCK}goroutine 1 [sync.Mutex.Lock]:\n")), "{stderr}");
}

/// docs/go-semantics.md, 58/59: every goroutine is dumped, with its state and where
/// it was created.
#[test]
fn item_59_every_goroutine_is_dumped() {
    let out = run_example("deadlock", &["select"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("{DEADLOCK}goroutine 1 [select]:\n")), "{stderr}");
    assert!(
        stderr.contains(
            "goroutine 2 [sync.WaitGroup.Wait]:\ndeadlock::wait_for()\n\t./examples/deadlock.rs:"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("created by deadlock::select in goroutine 1\n\texamples/deadlock.rs:"),
        "{stderr}"
    );
}

/// Go prints goroutine 1's own stack, its function and the line where it
/// blocks, and no "created by".
#[test]
fn the_main_goroutine_shows_where_it_blocks() {
    let out = run_example("deadlock", &["range"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let src =
        std::fs::read_to_string(format!("{}/examples/deadlock.rs", env!("CARGO_MANIFEST_DIR")))
            .expect("examples/deadlock.rs");
    let line = src.lines().position(|l| l.contains("for v in &ch {")).expect("range's loop") + 1;
    let main = format!(
        "{DEADLOCK}goroutine 1 [chan receive]:\ndeadlock::range()\n\t./examples/deadlock.rs:{line}\n\
         deadlock::main()\n\t./examples/deadlock.rs:"
    );
    assert!(stderr.starts_with(&main), "{stderr}");
    assert!(!stderr.contains("created by"), "{stderr}");
    assert!(!stderr.contains("go_runtime") && !stderr.contains("corosensei"), "{stderr}");
}

/// Each goroutine's top frame is the code that blocked: a named function, a
/// method, a closure; each is created by the function that spawned it.
#[test]
fn each_goroutine_shows_the_code_that_blocked() {
    let out = run_example("deadlock", &["three"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (header, top) in [
        ("goroutine 1 [sync.WaitGroup.Wait]:", "deadlock::three()"),
        ("[chan receive]:", "deadlock::worker()"),
        ("[chan receive]:", "deadlock::Server::serve()"),
        ("[chan receive]:", "deadlock::three::{{closure}}()"),
    ] {
        assert!(
            stderr.contains(&format!("{header}\n{top}\n\t./examples/deadlock.rs:")),
            "{top}: {stderr}"
        );
    }
    assert_eq!(
        stderr.matches("created by deadlock::three in goroutine 1\n").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn gotraceback_none_prints_the_fatal_error_only() {
    let mut cmd = common::example_command("deadlock", &["three"]);
    let out = cmd.env("GOTRACEBACK", "none").output().expect("run the example");
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr, "fatal error: all goroutines are asleep - deadlock!\n");
}

/// docs/go-semantics.md, 59: `select {}` with nothing else left.
#[test]
fn item_59_select_with_no_cases() {
    let out = run_example("deadlock", &["nocases"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!("{DEADLOCK}goroutine 1 [select (no cases)]:\n")),
        "{stderr}"
    );
}

/// docs/go-semantics.md, 60/61: goroutines waiting on timers and on a plain thread
/// (which sleeps longer than the detector's first check) are never reported.
#[test]
fn item_60_timers_and_threads_are_never_reported() {
    for _ in 0..3 {
        let out = run_example("deadlock", &["quiet"]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(stdout, "quiet: 499500\n");
        assert!(!stderr.contains("deadlock"), "{stderr}");
    }
}

/// A plain thread woken from a park and held runnable before it takes
/// itself off the count of parked threads (as a descheduled thread would
/// be) is not a deadlock: the test hook holds it 40 ms each time, past the
/// first check at 20 ms. This was reported as a deadlock before.
#[test]
fn a_woken_thread_slow_to_run_is_never_a_deadlock() {
    for _ in 0..2 {
        let out = common::example_command("deadlock", &["handshake"])
            .env("GO_RUNTIME_TEST_WAKE_DELAY_MS", "40")
            .output()
            .expect("run the example");
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(stdout, "handshake: 20 rounds\n");
    }
}

/// Go prints every goroutine on SIGQUIT and exits with status 2.
#[test]
fn sigquit_prints_the_dump() {
    let mut child = common::example_command("deadlock", &["sigquit"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("pid "), "{line}");
    // Let both goroutines park.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) }, 0);
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("SIGQUIT: quit\n\ngoroutine 1 [chan receive]:\ndeadlock::sigquit()\n\t"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("[chan send]:\ndeadlock::sigquit::{{closure}}()\n\t./examples/deadlock.rs:"),
        "{stderr}"
    );
    assert!(stderr.contains("created by go::spawn in goroutine 1\n"), "{stderr}");
}

/// Dumps of a running program capture the stacks of parked goroutines
/// while they are being woken: every wake-up that lands during a capture is
/// handed on, none is lost (a lost one hangs the child, which the timeout
/// reports).
#[test]
fn dumps_while_goroutines_wake_lose_no_wake_up() {
    const NAME: &str = "dumps_while_goroutines_wake_lose_no_wake_up";
    if common::is_child(NAME) {
        let _w = common::watchdog(Duration::from_secs(60), "goroutines woken during dumps");
        go::run(|| {
            // Parked in a receive for the whole run, so that every dump has
            // a parked goroutine to capture (the ping-pong pairs may all be
            // runnable at the moment of a dump, above all with one P).
            let hold = go::chan::Chan::<()>::new(0);
            let held = hold.clone();
            let holder = go::spawn(move || wait_on(&held));
            let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let wg = go::sync::WaitGroup::new();
            for _ in 0..50 {
                let (ping, pong) = (go::chan::Chan::<u64>::new(0), go::chan::Chan::<u64>::new(0));
                let (p2, q2) = (ping.clone(), pong.clone());
                wg.go(move || {
                    for v in &p2 {
                        q2.send(v + 1);
                    }
                });
                let total = total.clone();
                wg.go(move || {
                    for i in 0..400 {
                        ping.send(i);
                        total.fetch_add(pong.recv().unwrap(), std::sync::atomic::Ordering::Relaxed);
                    }
                    ping.close();
                });
            }
            // Plain threads wake goroutines at any moment, from outside the
            // workers, while dumps capture their stacks from a goroutine
            // and from a thread.
            let mut threads = Vec::new();
            for _ in 0..4 {
                let (ping, pong) = (go::chan::Chan::<u64>::new(0), go::chan::Chan::<u64>::new(0));
                let (p2, q2) = (ping.clone(), pong.clone());
                wg.go(move || {
                    for v in &p2 {
                        q2.send(v);
                    }
                });
                threads.push(std::thread::spawn(move || {
                    for i in 0..2000 {
                        ping.send(i);
                        assert_eq!(pong.recv(), Some(i));
                    }
                    ping.close();
                }));
            }
            let dumper = go::spawn(|| {
                for _ in 0..30 {
                    go::runtime::dump();
                    go::time::sleep(go::time::MILLISECOND);
                }
            });
            let thread_dumper = std::thread::spawn(|| {
                for _ in 0..30 {
                    go::runtime::dump();
                }
            });
            for t in threads {
                t.join().unwrap();
            }
            thread_dumper.join().unwrap();
            wg.wait();
            dumper.join().unwrap();
            hold.close();
            holder.join().unwrap();
            // Each of the 50 pairs sums 1..=400.
            println!("total {}", total.load(std::sync::atomic::Ordering::Relaxed));
        });
        return;
    }
    for procs in ["1", "2"] {
        let out = common::run_child(NAME, &[("GOMAXPROCS", procs)]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "GOMAXPROCS={procs}: {}",
            &stderr[stderr.len().saturating_sub(2000)..]
        );
        assert!(stdout.contains(&format!("total {}", 50 * 400 * 401 / 2)), "{stdout}");
        assert!(stderr.contains("[chan receive]:\nruntime_deadlock::"), "dumps show stacks");
    }
}

/// Receives from `ch` until it is closed (a named frame for the dumps).
fn wait_on(ch: &go::chan::Chan<()>) {
    while ch.recv().is_some() {}
}

/// Waits until `goroutines()` shows goroutine `id` in `state`.
fn wait_for_state(id: u64, state: GoroutineState) -> go::runtime::GoroutineInfo {
    let start = Instant::now();
    loop {
        if let Some(g) =
            go::runtime::goroutines().into_iter().find(|g| g.id == id && g.state == state)
        {
            return g;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "goroutine {id} never reached {state:?}: {:#?}",
            go::runtime::goroutines()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// docs/go-semantics.md, 59: each primitive parks with Go's status name, visible in
/// `goroutines()` with the spawn site and a wait time.
#[test]
fn item_59_goroutines_reports_every_wait_reason() {
    let _w = common::watchdog(Duration::from_secs(60), "wait reasons");
    let (rch, sch, sel) =
        (go::chan::Chan::<u8>::new(0), go::chan::Chan::<u8>::new(0), go::chan::Chan::<u8>::new(0));
    let nil = go::chan::Chan::<u8>::nil();
    let mu = Arc::new(go::sync::Mutex::new(()));
    let rw = Arc::new(go::sync::RwMutex::new(()));
    let wg = go::sync::WaitGroup::new();
    wg.add(1);
    let cond_mu = Arc::new(go::sync::Mutex::new(false));
    let cond = Arc::new(go::sync::Cond::new());
    let id_of = || {
        let c = go::chan::Chan::new(1);
        let tx = c.clone();
        (c, tx)
    };
    let mut cases: Vec<(WaitReason, u64, &str)> = Vec::new();
    let mut hold = Vec::new();
    macro_rules! blocked {
        ($reason:expr, $body:expr) => {{
            let (c, tx) = id_of();
            hold.push(go::spawn(move || {
                tx.send(go::runtime::goroutine_id().unwrap());
                $body;
            }));
            cases.push(($reason, c.recv().unwrap(), stringify!($reason)));
        }};
    }
    let r = rch.clone();
    blocked!(WaitReason::ChanReceive, r.recv());
    let s = sch.clone();
    blocked!(WaitReason::ChanSend, s.send(1));
    let n = nil.clone();
    blocked!(WaitReason::ChanReceiveNil, n.recv());
    let n = nil.clone();
    blocked!(WaitReason::ChanSendNil, n.send(1));
    let (a, b) = (sel.clone(), go::chan::Chan::<u8>::new(0));
    blocked!(
        WaitReason::Select,
        go::chan::Select::new().recv(&b, |_| ()).send(&a, 2, || ()).wait()
    );
    let guard = mu.lock();
    let m = mu.clone();
    blocked!(WaitReason::SyncMutexLock, drop(m.lock()));
    let wguard = rw.write();
    let r1 = rw.clone();
    blocked!(WaitReason::SyncRwMutexRLock, drop(r1.read()));
    let w = wg.clone();
    blocked!(WaitReason::SyncWaitGroupWait, w.wait());
    let (cm, cv) = (cond_mu.clone(), cond.clone());
    blocked!(WaitReason::SyncCondWait, {
        let mut g = cm.lock();
        while !*g {
            g = cv.wait(g);
        }
    });
    blocked!(WaitReason::Sleep, go::time::sleep(Duration::from_millis(300)));
    let child = go::spawn(|| go::time::sleep(Duration::from_millis(300)));
    blocked!(WaitReason::Join, child.join().unwrap());

    for &(reason, id, name) in &cases {
        let g = wait_for_state(id, GoroutineState::Waiting(reason));
        assert!(g.blocked_for.is_some(), "{name}");
        assert!(g.spawn_site.file().ends_with("runtime_deadlock.rs"), "{name}: {:?}", g.spawn_site);
        let text = g.to_string();
        assert!(
            text.starts_with(&format!(
                "goroutine {id} [{}]:\ncreated by go::spawn",
                reason.as_str()
            )),
            "{text}"
        );
    }
    // A writer waiting behind another writer waits on the internal mutex
    // (Go shows `sync.Mutex.Lock` too); one waiting for readers to leave
    // shows `sync.RWMutex.Lock`.
    let r2 = rw.clone();
    let (c, tx) = id_of();
    let w2 = go::spawn(move || {
        tx.send(go::runtime::goroutine_id().unwrap());
        drop(r2.write());
    });
    wait_for_state(c.recv().unwrap(), GoroutineState::Waiting(WaitReason::SyncMutexLock));
    drop(wguard);
    w2.join().unwrap();
    let rguard = rw.read();
    let r2 = rw.clone();
    let (c, tx) = id_of();
    let wh = go::spawn(move || {
        tx.send(go::runtime::goroutine_id().unwrap());
        drop(r2.write());
    });
    wait_for_state(c.recv().unwrap(), GoroutineState::Waiting(WaitReason::SyncRwMutexLock));

    // Release everything that can be released; the nil-channel goroutines
    // stay parked for ever (leaked, as in Go).
    drop(guard);
    drop(rguard);
    wg.done();
    *cond_mu.lock() = true;
    cond.broadcast();
    rch.send(0);
    assert_eq!(sch.recv(), Some(1));
    assert_eq!(sel.recv(), Some(2));
    wh.join().unwrap();
    let leaked = [WaitReason::ChanReceiveNil, WaitReason::ChanSendNil];
    for (h, (reason, ..)) in hold.into_iter().zip(&cases) {
        if !leaked.contains(reason) {
            h.join().unwrap();
        }
    }
}
