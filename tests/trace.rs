//! Scheduling traces (`go::runtime::trace`, `GOTRACE`): the file parses as
//! a Chrome trace, its slices are consistent, a known program has the
//! expected counts, and `examples/trace_view.rs` draws it. Recording is
//! process-wide, so every recording runs in a child process.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{is_child, run_child, texts};
use serde_json::Value;

const ROUND_TRIPS: u64 = 1000;

/// A fresh path for a trace file.
fn trace_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("go-trace-{what}-{}.json", std::process::id()))
}

/// In a child: 1,000 round trips over unbuffered channels, recorded into
/// `$TRACE_OUT`.
fn record_ping_pong() {
    let out = std::env::var("TRACE_OUT").expect("TRACE_OUT");
    go::run(move || {
        go::runtime::trace::start(&out).unwrap();
        let (ping, pong) = (go::chan::Chan::<u64>::new(0), go::chan::Chan::<u64>::new(0));
        let (rx, tx) = (ping.clone(), pong.clone());
        let partner = go::spawn(move || {
            for v in &rx {
                tx.send(v + 1);
            }
        });
        for i in 0..ROUND_TRIPS {
            ping.send(i);
            assert_eq!(pong.recv(), Some(i + 1));
        }
        ping.close();
        partner.join().unwrap();
        go::runtime::trace::stop().unwrap();
        // A second start while one runs is refused; stopping twice is fine.
        let other = format!("{out}.again");
        go::runtime::trace::start(&other).unwrap();
        let again = go::runtime::trace::start(&other).unwrap_err();
        assert_eq!(again.to_string(), "tracing is already enabled");
        go::runtime::trace::stop().unwrap();
        go::runtime::trace::stop().unwrap();
        std::fs::remove_file(&other).unwrap();
    });
}

/// Runs the recording child (test `name`) at GOMAXPROCS=1 into `path`.
fn recorded(name: &str, path: &Path) -> Value {
    let out = run_child(name, &[("GOMAXPROCS", "1"), ("TRACE_OUT", path.to_str().unwrap())]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the trace is JSON")
}

/// The trace's events, by phase.
fn events(v: &Value) -> &Vec<Value> {
    v["traceEvents"].as_array().expect("traceEvents")
}

fn num(e: &Value, k: &str) -> f64 {
    e[k].as_f64().unwrap_or_else(|| panic!("event without numeric {k}: {e}"))
}

#[test]
fn a_ping_pong_trace_has_the_expected_shape() {
    const NAME: &str = "a_ping_pong_trace_has_the_expected_shape";
    if is_child(NAME) {
        return record_ping_pong();
    }
    let path = trace_path("pingpong");
    let v = recorded(NAME, &path);
    let _ = std::fs::remove_file(&path);
    check_shape(&v);
}

/// What every recording satisfies, and the ping-pong's counts.
fn check_shape(v: &Value) {
    let ev = events(v);
    // Every slice has a start and a non-negative duration.
    for e in ev.iter().filter(|e| e["ph"] == "X") {
        assert!(num(e, "ts") >= 0.0 && num(e, "dur") >= 0.0, "bad slice {e}");
    }
    // No worker runs two goroutines at once, and no goroutine runs on two
    // workers at once.
    let runs: Vec<&Value> = ev.iter().filter(|e| e["ph"] == "X" && e["cat"] == "run").collect();
    let mut by_worker: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    let mut by_goroutine: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    for e in &runs {
        let (ts, end) = (num(e, "ts"), num(e, "ts") + num(e, "dur"));
        by_worker.entry(e["tid"].as_u64().unwrap()).or_default().push((ts, end));
        by_goroutine.entry(e["args"]["goroutine"].as_u64().unwrap()).or_default().push((ts, end));
    }
    for (what, spans) in by_worker
        .iter()
        .map(|(k, s)| (format!("P{k}"), s))
        .chain(by_goroutine.iter().map(|(k, s)| (format!("G{k}"), s)))
    {
        let mut s = spans.clone();
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in s.windows(2) {
            assert!(w[0].1 <= w[1].0 + 1e-3, "{what} runs overlap: {w:?}");
        }
    }
    // Every wake-up arrow has both ends, the waker's before the woken's start.
    let mut starts: HashMap<u64, f64> = HashMap::new();
    let mut finishes: HashMap<u64, f64> = HashMap::new();
    for e in ev {
        match e["ph"].as_str() {
            Some("s") => assert!(starts.insert(e["id"].as_u64().unwrap(), num(e, "ts")).is_none()),
            Some("f") => {
                assert!(finishes.insert(e["id"].as_u64().unwrap(), num(e, "ts")).is_none())
            }
            _ => {}
        }
    }
    for (id, s) in &starts {
        let f = finishes.get(id).unwrap_or_else(|| panic!("wake {id} has no end"));
        assert!(s <= f, "wake {id} ends ({f}) before it starts ({s})");
    }
    assert_eq!(starts.len(), finishes.len(), "every arrow end has a start");
    // The ping-pong: the partner ran once per message (each receive parks),
    // and every message was a wake-up from one goroutine to the other.
    let partner = by_goroutine
        .iter()
        .filter(|(g, _)| **g != 1)
        .max_by_key(|(_, s)| s.len())
        .map(|(g, s)| (*g, s.len()))
        .expect("the partner ran");
    assert!(
        (ROUND_TRIPS as usize..ROUND_TRIPS as usize + 5).contains(&partner.1),
        "the partner ran {} times",
        partner.1
    );
    assert!(starts.len() >= 2 * ROUND_TRIPS as usize - 1, "{} wake-ups", starts.len());
    // At GOMAXPROCS=1 each side finds the other not yet receiving, so both
    // block in their sends.
    let blocked = ev
        .iter()
        .filter(|e| {
            e["pid"] == 2
                && e["tid"] == partner.0
                && (e["name"] == "chan send" || e["name"] == "chan receive")
        })
        .count();
    assert!(blocked >= ROUND_TRIPS as usize - 1, "the partner blocked {blocked} times");
    assert_eq!(by_worker.len(), 1, "GOMAXPROCS=1 has one worker lane");
    // Tracks are named.
    assert!(ev.iter().any(|e| e["ph"] == "M" && e["args"]["name"] == "P0"));
    // The partner's track names its spawn site and its creator, main
    // (goroutine 1), and an arrow leads from main's run to its first.
    let partner_name = ev
        .iter()
        .find(|e| e["ph"] == "M" && e["pid"] == 2 && e["tid"] == partner.0)
        .and_then(|e| e["args"]["name"].as_str())
        .expect("the partner's track is named");
    assert!(partner_name.contains("tests/trace.rs:"), "{partner_name}");
    assert!(partner_name.ends_with("(created by G1)"), "{partner_name}");
    assert_eq!(ev.iter().filter(|e| e["ph"] == "s" && e["cat"] == "spawn").count(), 1);
}

#[test]
fn gotrace_records_a_whole_run_and_writes_it_at_exit() {
    const NAME: &str = "gotrace_records_a_whole_run_and_writes_it_at_exit";
    if is_child(NAME) {
        // No trace call in the program: the environment asks for it.
        go::run(|| {
            let wg = go::sync::WaitGroup::new();
            for i in 0..100u64 {
                wg.go(move || {
                    go::time::sleep(std::time::Duration::from_millis(1 + i % 3));
                });
            }
            wg.wait();
        });
        return;
    }
    let path = trace_path("gotrace");
    let out = run_child(NAME, &[("GOMAXPROCS", "2"), ("GOTRACE", path.to_str().unwrap())]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let text = std::fs::read_to_string(&path).expect("GOTRACE wrote the file");
    let _ = std::fs::remove_file(&path);
    let v: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let ev = events(&v);
    // The 100 goroutines (and main) have tracks, and slept.
    let named = ev.iter().filter(|e| e["ph"] == "M" && e["pid"] == 2).count();
    assert!(named >= 101, "{named} goroutine tracks");
    let slept = ev.iter().filter(|e| e["pid"] == 2 && e["name"] == "sleep").count();
    assert!(slept >= 100, "{slept} sleeps");
    assert!(ev.iter().any(|e| e["pid"] == 2 && e["name"] == "sync.WaitGroup.Wait"));
}

#[test]
fn trace_view_draws_a_valid_svg_and_a_summary() {
    const NAME: &str = "trace_view_draws_a_valid_svg_and_a_summary";
    if is_child(NAME) {
        return record_ping_pong();
    }
    let path = trace_path("view");
    let _ = recorded(NAME, &path);
    let svg = path.with_extension("svg");
    let out = common::run_example("trace_view", &[path.to_str().unwrap(), svg.to_str().unwrap()]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let text = std::fs::read_to_string(&svg).expect("the SVG was written");
    let _ = (std::fs::remove_file(&path), std::fs::remove_file(&svg));
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{text:.200}");
    well_formed(&text);
    assert!(text.contains(">P0</text>"), "a lane per worker");
    assert!(text.matches("<rect").count() > 10, "goroutine runs drawn");
    assert!(text.contains("µs") || text.contains("ms"), "a time axis");
    assert!(stdout.contains("P0:") && stdout.contains("goroutines"), "summary: {stdout}");
    assert!(stdout.contains("blocked: chan send"), "summary: {stdout}");
}

/// Fails unless `xml` is well-formed as far as tags go: every element
/// closes, in order, and attributes are quoted.
fn well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("a tag is closed") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().expect("a tag name");
            stack.push(name);
        }
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

/// A goroutine spawned into its parent's runnext stays with the parent
/// while the parent's thread is merely off the CPU. A thread blocked in a
/// plain `std::thread::sleep` (2 ms) right after the spawn looks, to an idle
/// worker, like one the kernel descheduled: its schedule tick stands still.
/// Stealing the new goroutine then would split the pair for good (a
/// started goroutine never moves), and every message between them would
/// wake a thread: with more workers than CPUs one ping-pong run in a
/// hundred ran 100 times slower so. Thieves now take a runnext only from a
/// worker seen making runtime calls, or after 20 ms.
#[test]
fn a_spawned_partner_stays_with_a_parent_whose_thread_is_off_the_cpu() {
    const NAME: &str = "a_spawned_partner_stays_with_a_parent_whose_thread_is_off_the_cpu";
    if is_child(NAME) {
        let out = std::env::var("TRACE_OUT").expect("TRACE_OUT");
        go::run(move || {
            go::runtime::trace::start(&out).unwrap();
            for _ in 0..5 {
                let (ping, pong) = (go::chan::Chan::<u64>::new(0), go::chan::Chan::<u64>::new(0));
                let (rx, tx) = (ping.clone(), pong.clone());
                let partner = go::spawn(move || {
                    for v in &rx {
                        tx.send(v + 1);
                    }
                });
                std::thread::sleep(std::time::Duration::from_millis(2));
                for i in 0..100 {
                    ping.send(i);
                    assert_eq!(pong.recv(), Some(i + 1));
                }
                ping.close();
                partner.join().unwrap();
            }
            go::runtime::trace::stop().unwrap();
        });
        return;
    }
    for procs in ["2", "4"] {
        let path = trace_path(&format!("partner-{procs}"));
        let out = run_child(NAME, &[("GOMAXPROCS", procs), ("TRACE_OUT", path.to_str().unwrap())]);
        let (_, stderr) = texts(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        // The P (track) of every run of every goroutine.
        let mut ps: HashMap<u64, Vec<u64>> = HashMap::new();
        for e in events(&v) {
            if e["ph"] == "X" && e["pid"] == 1 && e["args"]["goroutine"].is_u64() {
                let g = e["args"]["goroutine"].as_u64().unwrap();
                ps.entry(g).or_default().push(e["tid"].as_u64().unwrap());
            }
        }
        let main_p = ps[&1][0];
        assert!(ps[&1].iter().all(|&p| p == main_p), "main moved: {:?}", ps[&1]);
        let partners: Vec<_> = ps.iter().filter(|(g, _)| **g != 1).collect();
        assert_eq!(partners.len(), 5, "{ps:?}");
        for (g, runs) in partners {
            assert!(
                runs.iter().all(|&p| p == main_p),
                "GOMAXPROCS={procs}: partner G{g} ran on P{:?}, main on P{main_p}",
                runs.iter().collect::<std::collections::BTreeSet<_>>()
            );
        }
    }
}
