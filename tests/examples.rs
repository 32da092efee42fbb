//! Runs every example (the tutorial's programs, ported) and checks its
//! output: exactly where Go guarantees the order, as a set where the
//! tutorial says the order may vary, and per goroutine for the time-based
//! ones.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Runs example `name` (building it first: a filtered `cargo test` may not
/// have), and returns its stdout lines after checking it exited with 0.
fn run(name: &str) -> Vec<String> {
    run_with(name, &[])
}

/// [`run`] with `envs` set.
fn run_with(name: &str, envs: &[(&str, &str)]) -> Vec<String> {
    let out = common::example_command(name, &[]).envs(envs.iter().copied()).output().unwrap();
    let (stdout, stderr) = common::texts(&out);
    assert!(
        out.status.success(),
        "example {name} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout.lines().map(str::to_string).collect()
}

fn set(lines: &[String]) -> BTreeSet<&str> {
    lines.iter().map(String::as_str).collect()
}

#[test]
fn section_2_basic_goroutine() {
    assert_eq!(run("basic_goroutine"), ["Hello from goroutine", "Main function"]);
}

#[test]
fn section_3_anonymous_goroutine() {
    assert_eq!(run("anonymous_goroutine"), ["Running goroutine"]);
}

#[test]
fn section_4_multiple_goroutines_interleave_in_order_per_task() {
    let lines = run("multiple_goroutines");
    assert_eq!(lines.len(), 6, "{lines:?}");
    for task in ["Task A", "Task B"] {
        let mine: Vec<&str> =
            lines.iter().filter(|l| l.starts_with(task)).map(String::as_str).collect();
        assert_eq!(mine, [format!("{task} 1"), format!("{task} 2"), format!("{task} 3")]);
    }
    // Concurrent, not one after the other: both first lines come before
    // either task's last line.
    let pos = |l: &str| lines.iter().position(|x| x == l).unwrap();
    assert!(pos("Task A 1").max(pos("Task B 1")) < pos("Task A 3").min(pos("Task B 3")));
}

#[test]
fn section_6_waitgroup() {
    let lines = run("waitgroup");
    assert_eq!(lines.len(), 4);
    assert_eq!(
        set(&lines[..3]),
        set(&["Worker 1 started".into(), "Worker 2 started".into(), "Worker 3 started".into()])
    );
    assert_eq!(lines[3], "All workers finished");
}

#[test]
fn section_7_parameters() {
    let lines = run("parameters");
    assert_eq!(set(&lines), set(&["Hello Chirag".into(), "Hello Rahul".into()]));
    assert_eq!(lines.len(), 2);
}

#[test]
fn section_8_race_fixed_three_ways() {
    assert_eq!(run("race_fixed"), ["mutex: 1000", "atomic: 1000", "channel: 1000"]);
}

#[test]
fn section_9_mutex_counter() {
    for _ in 0..5 {
        assert_eq!(run("mutex_counter"), ["1000"]);
    }
}

#[test]
fn section_10_backend_takes_the_slowest_not_the_sum() {
    let lines = run("backend");
    assert_eq!(
        lines[..3],
        ["inventory: order 1 done", "mail: order 1 done", "payments: order 1 done"]
    );
    let ms: u64 = lines[3]
        .strip_prefix("order 1 handled in ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {:?}", lines[3]));
    // The slowest service takes 200 ms, the three together 400 ms.
    assert!((200..400).contains(&ms), "handled in {ms} ms");
}

#[test]
fn section_12_complete_example() {
    let lines = run("complete");
    let want: Vec<String> = (1..=5).map(|n| format!("Number: {n}")).collect();
    assert_eq!(set(&lines), set(&want));
    assert_eq!(lines.len(), 5);
}

#[test]
fn claim_thousands_of_goroutines() {
    check_thousands(&run("thousands"));
}

/// Kernels older than Linux 6.13 guard stacks with `mprotect`, two memory
/// mappings per guard: 100,000 goroutines still fit the default
/// `vm.max_map_count`, because parked ones give their guard back.
#[test]
fn claim_thousands_of_goroutines_on_the_mprotect_fallback() {
    check_thousands(&run_with("thousands", &[("GODEBUG", "stackguard=mprotect")]));
}

fn check_thousands(lines: &[String]) {
    let live: usize = lines[0].split(' ').next().and_then(|n| n.parse().ok()).unwrap();
    assert!(live >= 100_000, "{lines:?}");
    assert!(lines[1].starts_with("goroutines: ") && lines[2].contains("OS threads"));
}

#[test]
fn claim_scheduler_spreads_goroutines_over_the_ps() {
    let lines = run("scheduler");
    let ran: usize = lines
        .iter()
        .filter_map(|l| l.split(" ran ").nth(1))
        .filter_map(|r| r.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(ran, 32, "{lines:?}");
    assert!(lines.last().unwrap().contains("go-worker-"));
}

#[test]
fn claim_bounded_worker_pool() {
    let lines = run("worker_pool");
    assert_eq!(lines[0], "10000 jobs done by 4 workers, sum of squares 333383335000");
    let busy: usize = lines[2].split(' ').nth(2).and_then(|n| n.parse().ok()).unwrap();
    assert!((1..=4).contains(&busy), "{lines:?}");
}

/// README, "Tracing": `GOTRACE` records the worker pool, and `trace_view`
/// draws it and sums it up.
#[test]
fn claim_trace_of_the_worker_pool() {
    let dir = std::env::temp_dir();
    let (json, svg) = (
        dir.join(format!("go-claim-trace-{}.json", std::process::id())),
        dir.join(format!("go-claim-trace-{}.svg", std::process::id())),
    );
    let lines = run_with("worker_pool", &[("GOTRACE", json.to_str().unwrap())]);
    assert_eq!(lines[0], "10000 jobs done by 4 workers, sum of squares 333383335000");
    let out = common::run_example("trace_view", &[json.to_str().unwrap(), svg.to_str().unwrap()]);
    let (stdout, stderr) = common::texts(&out);
    let drawn = std::fs::read_to_string(&svg).unwrap_or_default();
    let _ = (std::fs::remove_file(&json), std::fs::remove_file(&svg));
    assert!(out.status.success(), "trace_view failed: {stderr}");
    assert!(drawn.starts_with("<svg") && drawn.trim_end().ends_with("</svg>"));
    // The summary names the workers by their spawn site, and gives every P
    // a line, also one that ran nothing (the example inherits GOMAXPROCS).
    assert!(stdout.contains("examples/worker_pool.rs:42:9"), "{stdout}");
    for p in 0..go::runtime::gomaxprocs() {
        assert!(stdout.contains(&format!("P{p}: ")), "no line for P{p}: {stdout}");
    }
    assert!(stdout.contains("% busy"), "{stdout}");
}

/// `#[go::main]` is goroutine 1; docs/go-semantics.md, 9: main returning ends the
/// program at once, and the running goroutine's deferred call never runs.
#[test]
fn item_9_main_returning_exits_at_once() {
    let start = Instant::now();
    assert_eq!(run("main_exits"), ["main is goroutine 1", "main returns"]);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn net_echo_server() {
    assert_eq!(run("echo_server"), ["hello, echo"]);
}

#[test]
fn net_http_server_answers_pipelined_requests() {
    assert_eq!(run("http_server"), ["2 responses `HTTP/1.1 200 OK`, 2 bodies `Hello, World!`"]);
}

/// The HTTP example refuses a header block past 8 KiB (431) and an
/// impossible `Content-Length` (400) without falling over, and then serves
/// a normal request at once. Before, the length overflowed and panicked
/// the debug build, and an endless header held the connection forever.
#[test]
fn net_http_server_refuses_bad_requests_and_keeps_serving() {
    use std::io::{BufRead, BufReader, Read, Write};

    let mut child = common::example_command("http_server", &["127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let addr =
        line.trim().trim_start_matches("http server on http://").trim_end_matches('/').to_owned();
    let exchange = |request: &[u8]| -> String {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may answer and close before taking everything.
        let _ = c.write_all(request);
        let mut reply = String::new();
        let _ = c.read_to_string(&mut reply);
        reply
    };
    let huge =
        exchange(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n");
    assert!(huge.starts_with("HTTP/1.1 400 "), "{huge}");
    let mut endless = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    endless.resize(64 << 10, b'a');
    let endless = exchange(&endless);
    assert!(endless.starts_with("HTTP/1.1 431 "), "{endless}");
    let start = Instant::now();
    let ok = exchange(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let took = start.elapsed();
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("Hello, World!"), "{ok}");
    assert!(took < Duration::from_millis(100), "a normal request took {took:?}");
    assert!(child.try_wait().unwrap().is_none(), "the server is still up");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn demo_hello() {
    let lines = run("hello");
    assert_eq!(lines[3], "All workers finished");
    assert!(lines[4].starts_with("100000 goroutines slept 10 ms each"));
}

/// Goroutines fan out through an async (tokio) client and gather over a
/// channel; a tokio task awaits a goroutine and a channel.
#[cfg(feature = "tokio")]
#[test]
fn claim_async_bridge() {
    let lines = run("async_bridge");
    assert_eq!(lines[0], "channel=7 future=6 go=2 goroutine=9 mutex=5 rust=4 select=6 tokio=5");
    assert_eq!(lines[1], r#"tokio task got 60 and "worker done""#);
}
