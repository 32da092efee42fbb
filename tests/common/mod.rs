//! Helpers shared by the integration tests: child processes for crash and
//! environment-dependent behaviour, and a watchdog that fails instead of
//! hanging.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const CHILD_VAR: &str = "GO_TEST_CHILD";

/// True in the child process started by [`run_child`] for test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD_VAR).is_ok_and(|v| v == name)
}

/// A command that runs `program`, a binary built for the target under
/// test: directly, or through the emulator that `GO_TEST_RUNNER` names
/// (`.ci/run`'s aarch64 pass runs the suite under qemu-user, and a binary
/// of the other architecture cannot be started directly there).
pub fn target_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    match std::env::var_os("GO_TEST_RUNNER") {
        Some(runner) => {
            let mut cmd = Command::new(runner);
            cmd.arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// A command that runs this test binary again (see [`target_command`]).
pub fn this_test_binary() -> Command {
    target_command(std::env::current_exe().expect("test binary path"))
}

/// Re-runs this test binary, running only test `name`, with `envs` set.
pub fn run_child(name: &str, envs: &[(&str, &str)]) -> Output {
    let mut cmd = this_test_binary();
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]).env(CHILD_VAR, name);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run child test process")
}

/// The child's stdout and stderr as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Fails the whole test process if the guard is still alive after `limit`:
/// a lost wake-up shows up as a failure, never as a hang.
pub struct Watchdog(Arc<AtomicBool>);

pub fn watchdog(limit: Duration, what: &'static str) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        let step = Duration::from_millis(20);
        let mut waited = Duration::ZERO;
        while waited < limit {
            if flag.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(step);
            waited += step;
        }
        if !flag.load(Ordering::Acquire) {
            eprintln!("watchdog: {what} did not finish within {limit:?} (lost wake-up?)");
            std::process::exit(101);
        }
    });
    Watchdog(done)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs test `name` as a child that must crash like Go: exit status 2, and
/// its stdout never reaching a line containing "unreachable". Returns its
/// stdout and stderr.
pub fn run_crashing_child(name: &str, envs: &[(&str, &str)]) -> (String, String) {
    let out = run_child(name, envs);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert!(!stdout.contains("unreachable"), "the program went on after the crash: {stdout}");
    (stdout, stderr)
}

/// The bound on a worst gap (a ticker's, a sleeper's, a yield's) that is
/// a few milliseconds in most runs and hundreds without the behaviour
/// under test. This 2-vCPU VM pauses a whole process now and then: an
/// idle Python loop of 1 ms sleeps once saw a 101 ms gap, and children
/// failed bounds of 50 and 60 ms with gaps of 78, 83 and 96 ms in
/// full-suite runs (2-9 ms in 45 runs alone).
pub const GAP_BOUND_MS: u64 = 150;

/// The number a child printed as `key=<number>`; fails with the child's
/// output if it printed none.
pub fn reported(stdout: &str, key: &str, stderr: &str) -> u64 {
    stdout
        .split(&format!("{key}="))
        .nth(1)
        .and_then(|s| s.lines().next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("child printed no {key}: {stdout} {stderr}"))
}

/// Builds example `name` (with the test binary's profile) and runs it with
/// `args`, returning its output.
pub fn run_example(name: &str, args: &[&str]) -> Output {
    example_command(name, args).output().expect("run the example")
}

/// The command that runs example `name` with `args`, after building it.
pub fn example_command(name: &str, args: &[&str]) -> Command {
    let dir = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("examples");
    let release = dir.parent().and_then(|d| d.file_name()).is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--example", name]);
    // Tests built with `--target` (the aarch64 pass) live under
    // `<target dir>/<triple>/`: the example is built the same way, there.
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let above = dir.parent().and_then(|profile| profile.parent());
    if let Some(above) = above.filter(|a| a.file_name().is_some_and(|n| n == triple.as_str())) {
        build.args(["--target", triple.as_str()]).arg("--target-dir").arg(above.parent().unwrap());
    }
    // Examples that need the `tokio` feature are built with it when the
    // tests are.
    if cfg!(feature = "tokio") {
        build.args(["--features", "tokio"]);
    }
    if release {
        build.arg("--release");
    }
    let st = build.status().expect("run cargo build");
    assert!(st.success(), "building example {name} failed");
    let mut cmd = target_command(dir.join(name));
    cmd.args(args);
    cmd
}

/// Ticks every 5 ms for `d` on the calling goroutine; returns the largest
/// gap between ticks (how long the goroutine was kept from running).
pub fn worst_tick_gap(d: Duration) -> Duration {
    let mut worst = Duration::ZERO;
    let mut last = std::time::Instant::now();
    let end = last + d;
    while std::time::Instant::now() < end {
        go::time::sleep(Duration::from_millis(5));
        worst = worst.max(last.elapsed());
        last = std::time::Instant::now();
    }
    worst
}
