//! Scheduling order at GOMAXPROCS=1 and changing GOMAXPROCS
//! (docs/go-semantics.md, 12, 13, 15).

mod common;

use std::sync::{Arc, Mutex};

use common::{is_child, run_child, texts};

#[test]
fn gosched_lets_the_spawned_goroutine_run_first() {
    // docs/go-semantics.md, 12: `go print("a"); runtime.Gosched(); print("b")` prints
    // a then b at GOMAXPROCS=1.
    const NAME: &str = "gosched_lets_the_spawned_goroutine_run_first";
    if is_child(NAME) {
        let log = Arc::new(Mutex::new(String::new()));
        let l = log.clone();
        go::run(move || {
            let l2 = l.clone();
            let _h = go::spawn(move || l2.lock().unwrap().push('a'));
            go::runtime::gosched();
            l.lock().unwrap().push('b');
        });
        println!("order={}", log.lock().unwrap());
        return;
    }
    for _ in 0..20 {
        let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        assert!(stdout.contains("order=ab"), "stdout: {stdout}");
    }
}

#[test]
fn without_gosched_main_runs_on_first() {
    // docs/go-semantics.md, 12, second half: without Gosched the spawner keeps the P,
    // so its own work comes first.
    const NAME: &str = "without_gosched_main_runs_on_first";
    if is_child(NAME) {
        let log = Arc::new(Mutex::new(String::new()));
        let l = log.clone();
        go::run(move || {
            let l2 = l.clone();
            let h = go::spawn(move || l2.lock().unwrap().push('a'));
            l.lock().unwrap().push('b');
            h.join().unwrap();
        });
        println!("order={}", log.lock().unwrap());
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("order=ba"), "stdout: {stdout}");
}

#[test]
fn runnext_runs_the_last_spawned_first() {
    // docs/go-semantics.md, 13: spawning 0..9 then waiting runs 9 0 1 2 3 4 5 6 7 8.
    const NAME: &str = "runnext_runs_the_last_spawned_first";
    if is_child(NAME) {
        let order = go::run(|| {
            let log = Arc::new(Mutex::new(Vec::new()));
            let wg = go::sync::WaitGroup::new();
            for i in 0..10 {
                wg.add(1);
                let (log, wg) = (log.clone(), wg.clone());
                go::spawn(move || {
                    log.lock().unwrap().push(i);
                    wg.done();
                });
            }
            wg.wait();
            log.lock().unwrap().clone()
        });
        println!("order={order:?}");
        return;
    }
    for _ in 0..10 {
        // Without sysmon's requests: a spawning loop that took over 10 ms
        // (a paused VM, an emulator) would be asked to yield and let
        // goroutine 0 run early, as Go's sysmon would preempt it.
        let envs = [("GOMAXPROCS", "1"), ("GODEBUG", "sysmonpreempt=0")];
        let out = run_child(NAME, &envs);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        assert!(stdout.contains("order=[9, 0, 1, 2, 3, 4, 5, 6, 7, 8]"), "stdout: {stdout}");
    }
}

#[test]
fn gomaxprocs_env_is_honoured_and_garbage_ignored() {
    // docs/go-semantics.md, 15.
    const NAME: &str = "gomaxprocs_env_is_honoured_and_garbage_ignored";
    if is_child(NAME) {
        println!("procs={}", go::runtime::gomaxprocs());
        return;
    }
    let default = std::thread::available_parallelism().unwrap().get();
    for (env, want) in [("3", 3), ("1", 1), ("0", default), ("-2", default), ("many", default)] {
        let out = run_child(NAME, &[("GOMAXPROCS", env)]);
        let (stdout, _) = texts(&out);
        assert!(stdout.contains(&format!("procs={want}")), "GOMAXPROCS={env}: {stdout}");
    }
}

#[test]
fn set_gomaxprocs_returns_the_old_value_and_starts_workers() {
    const NAME: &str = "set_gomaxprocs_returns_the_old_value_and_starts_workers";
    if is_child(NAME) {
        assert_eq!(go::runtime::set_gomaxprocs(3), 1);
        assert_eq!(go::runtime::set_gomaxprocs(0), 3, "0 only queries");
        assert_eq!(go::runtime::gomaxprocs(), 3);
        // The new workers take work: goroutines that block their thread
        // still all finish, on three threads.
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let hs: Vec<_> = (0..300)
            .map(|_| {
                let seen = seen.clone();
                go::spawn(move || {
                    seen.lock().unwrap().insert(std::thread::current().id());
                    std::thread::sleep(std::time::Duration::from_millis(1));
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(seen.lock().unwrap().len(), 3);
        // Lowering it keeps everything working.
        assert_eq!(go::runtime::set_gomaxprocs(1), 3);
        let sum: u32 = (0..100).map(|i| go::spawn(move || i)).map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 4950);
        println!("ok");
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success() && stdout.contains("ok"), "stderr: {stderr}");
}

/// With more workers than CPUs, new goroutines go to the workers already
/// awake rather than waking one thread per goroutine: a goroutine stays on
/// the thread it first ran on, and threads beyond the CPUs would only take
/// turns on the same CPUs, every message between them a wake-up through the
/// kernel (scheduler README, "More workers than CPUs"). 4 producers and 4
/// consumers of one channel at GOMAXPROCS = 4 x the CPUs start on at most
/// one thread more than there are CPUs, in 7 runs of 10 (47 of 50 when
/// measured; 0 of 10 before).
#[test]
fn more_workers_than_cpus_do_not_spread_a_burst_of_goroutines() {
    const NAME: &str = "more_workers_than_cpus_do_not_spread_a_burst_of_goroutines";
    if is_child(NAME) {
        let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let ch = go::chan::Chan::<u64>::new(64);
        let wg = go::sync::WaitGroup::new();
        for i in 0..8 {
            let (ch, threads) = (ch.clone(), threads.clone());
            wg.go(move || {
                threads.lock().unwrap().insert(std::thread::current().id());
                if i % 2 == 0 {
                    (0..20_000).for_each(|v| ch.send(v));
                } else {
                    (0..20_000).for_each(|_| assert!(ch.recv().is_some()));
                }
            });
        }
        wg.wait();
        println!("threads={}", threads.lock().unwrap().len());
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let procs = (4 * cpus).to_string();
    let mut counts = Vec::new();
    for _ in 0..10 {
        let out = run_child(NAME, &[("GOMAXPROCS", procs.as_str())]);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        let n: usize = stdout
            .split("threads=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("stdout: {stdout}"));
        counts.push(n);
    }
    let few = counts.iter().filter(|&&n| n <= cpus + 1).count();
    assert!(few >= 7, "threads used per run at GOMAXPROCS={procs} on {cpus} CPUs: {counts:?}");
}
