//! Panics read like Go's (docs/go-semantics.md, 1, 4, 10): the main
//! goroutine's panic, nested panics in `defer!`, stacks in the report,
//! `GOTRACEBACK`, and `#[go::test]` failing like a plain `#[test]`. Crashes
//! run `examples/panics.rs` or this test binary as a child process and
//! check its stderr and exit status.

mod common;

use common::{is_child, run_child, run_example, texts};

/// The report of `examples/panics.rs main`: defers first, then Go's report
/// with the stack and no "created by" for the main goroutine.
#[test]
fn main_panic_runs_defers_then_prints_go_report_and_exits_2() {
    let out = run_example("panics", &["main"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "deferred ran\n");
    assert!(
        stderr.starts_with("panic: boom\n\ngoroutine 1 [running]:\npanics::explode()\n\t"),
        "{stderr}"
    );
    let line = line_of("examples/panics.rs", "panic!(\"boom\");");
    assert!(
        stderr.contains(&format!("examples/panics.rs:{line}\n")),
        "the panic's own line: {stderr}"
    );
    assert!(stderr.contains("\npanics::main()\n\t"), "main's frame, as Go's main.main(): {stderr}");
    assert!(!stderr.contains("created by"), "goroutine 1 names no creator: {stderr}");
    assert!(!stderr.contains("go_runtime") && !stderr.contains("corosensei"), "{stderr}");
    assert!(!stderr.contains("thread '"), "no Rust panic message: {stderr}");
}

#[test]
fn go_run_panic_is_a_main_goroutine_crash() {
    const NAME: &str = "go_run_panic_is_a_main_goroutine_crash";
    if is_child(NAME) {
        go::run(|| {
            go::defer!(println!("deferred ran"));
            panic!("main failed");
        });
        println!("unreachable: run returned");
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.contains("deferred ran") && !stdout.contains("unreachable"), "{stdout}");
    assert!(stderr.starts_with("panic: main failed\n\ngoroutine "), "{stderr}");
    assert!(
        stderr.contains("runtime_panics::go_run_panic_is_a_main_goroutine_crash()\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("created by"), "{stderr}");
}

/// Go's report of a panic in a deferred call while unwinding:
/// `panic: first`, then a tab and `panic: second`; no abort.
fn assert_nested_report(stderr: &str) {
    assert!(stderr.starts_with("panic: first\n\tpanic: second\n\ngoroutine "), "{stderr}");
    assert!(stderr.contains("\npanics::nested::{{closure}}()\n\t"), "the deferred call: {stderr}");
    assert!(
        stderr.contains("\npanics::nested()\n\t"),
        "the function that panicked first: {stderr}"
    );
    assert!(!stderr.contains("non-unwinding") && !stderr.contains("aborting"), "{stderr}");
}

#[test]
fn nested_panic_in_main_is_reported_not_aborted() {
    let out = run_example("panics", &["nested"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "outer defer ran\n", "defer!s further out still run");
    assert_nested_report(&stderr);
    assert!(stderr.contains("goroutine 1 [running]:"), "{stderr}");
}

#[test]
fn nested_panic_in_a_detached_goroutine_is_reported_not_aborted() {
    let out = run_example("panics", &["detached"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "outer defer ran\n");
    assert_nested_report(&stderr);
    assert!(
        stderr
            .contains("created by panics::main::{{closure}} in goroutine 1\n\texamples/panics.rs:"),
        "{stderr}"
    );
}

#[test]
fn nested_panic_in_a_joined_goroutine_gives_join_the_last_panic() {
    let out = run_example("panics", &["joined"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "outer defer ran\njoin got: second\n");
}

#[test]
fn nested_panic_on_a_plain_thread_does_not_abort() {
    // Outside any goroutine the deferred call's panic is caught (std's hook
    // printed it) and the first panic goes on unwinding.
    let r = std::panic::catch_unwind(|| {
        go::defer!(panic!("second"));
        panic!("first");
    });
    assert_eq!(r.unwrap_err().downcast_ref::<&str>(), Some(&"first"));
}

#[test]
fn a_goroutine_report_shows_its_frames_and_creator() {
    let out = run_example("panics", &["worker"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let frames = "panics::explode()\n\t";
    assert!(stderr.starts_with("panic: boom\n\ngoroutine "), "{stderr}");
    let at = stderr.find(frames).expect("explode's frame");
    let worker = stderr.find("\npanics::worker()\n\t").expect("worker's frame");
    let created = stderr
        .find("created by panics::main::{{closure}} in goroutine 1\n\texamples/panics.rs:")
        .expect("creator");
    assert!(at < worker && worker < created, "top frame first, creator last: {stderr}");
}

#[test]
fn gotraceback_none_prints_the_panic_only() {
    let out = example_with_env("panics", &["main"], &[("GOTRACEBACK", "none")]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr, "panic: boom\n");
}

#[test]
fn gotraceback_all_adds_every_other_goroutine() {
    // Main spawns the workers, then sleeps. Usually the panic comes after
    // main parked, and main is listed with its state. Rarely (about 1 run
    // in 100 with two workers) a worker panics while main is still running
    // between `go!` and `sleep`: a goroutine that has never blocked is not
    // in the registries, so the dump counts it instead of listing it
    // (documented on `runtime::goroutines`). Either way main is accounted
    // for; of five runs, at least one must list it.
    let mut listed = 0;
    for _ in 0..5 {
        let out = example_with_env("panics", &["worker"], &[("GOTRACEBACK", "all")]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        // The panicking goroutine first, then main, asleep.
        let panicking = stderr.find("[running]:").expect("the panicking goroutine");
        match stderr.find("goroutine 1 [sleep]:") {
            Some(main) => {
                assert!(panicking < main, "{stderr}");
                listed += 1;
            }
            None => assert!(
                stderr.contains("(1 more goroutines running or runnable)"),
                "main neither listed nor counted: {stderr}"
            ),
        }
    }
    assert!(listed > 0, "main was never listed asleep");
}

/// The 1-based number of the first line of `file` (from the workspace root)
/// that contains `text`.
fn line_of(file: &str, text: &str) -> usize {
    let src =
        std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).expect(file);
    src.lines().position(|l| l.contains(text)).expect("the text is in the file") + 1
}

fn example_with_env(name: &str, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = common::example_command(name, args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run the example")
}

/// A `#[go::test]` that fails: run only in the child of
/// `failing_go_test_shows_message_and_location`.
#[go::test]
fn failing_go_test_body() {
    if !is_child("failing_go_test_body") {
        return;
    }
    let answer = 6 * 7;
    assert_eq!(answer, 41, "the answer");
}

#[test]
fn failing_go_test_shows_message_and_location() {
    // Run the failing test through the harness, output captured as usual
    // (no --nocapture): the harness shows what the test printed.
    let out = common::this_test_binary()
        .args(["failing_go_test_body", "--exact", "--test-threads=1"])
        .env("GO_TEST_CHILD", "failing_go_test_body")
        .output()
        .expect("run the child test");
    let (stdout, stderr) = texts(&out);
    let all = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(101), "the test fails: {all}");
    assert!(
        all.contains("thread 'failing_go_test_body' panicked at tests/runtime_panics.rs:"),
        "{all}"
    );
    assert!(all.contains("assertion `left == right` failed: the answer"), "{all}");
    assert!(all.contains("left: 42"), "{all}");
    assert!(all.contains("test failing_go_test_body ... FAILED"), "{all}");
}

#[go::test]
#[should_panic]
fn should_panic_works_on_go_test() {
    panic!("any panic");
}

#[go::test]
#[should_panic(expected = "index out of bounds")]
fn should_panic_expected_sees_the_original_payload() {
    let v: Vec<u8> = Vec::new();
    let i = std::hint::black_box(3);
    let _ = v[i];
}

#[go::test]
#[should_panic(expected = "from a joined goroutine")]
fn should_panic_sees_a_panic_resumed_from_a_joined_goroutine() {
    let h = go::spawn(|| -> u8 { panic!("from a joined goroutine") });
    if let Err(p) = h.join() {
        std::panic::resume_unwind(p);
    }
}
