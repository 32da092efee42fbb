//! `go::os::signal`: signals delivered to channels, `notify_context`, and
//! the default actions restored by `stop` (SIGQUIT's goroutine dump
//! included). Each case runs in a child process: signals are per process.

mod common;

use std::time::Duration;

use common::{is_child, run_child, texts, watchdog};
use go::chan::Chan;
use go::os::signal::{self, Signal};

fn raise(sig: Signal) {
    // SAFETY: raising a signal at ourselves; its action is the test's.
    unsafe { libc::raise(sig.number()) };
}

/// Delivered to every channel that asked, named as Go names them; after
/// `stop` the default action (termination) is back.
#[test]
fn notify_delivers_and_stop_restores_the_default() {
    const NAME: &str = "notify_delivers_and_stop_restores_the_default";
    if is_child(NAME) {
        let _dog = watchdog(Duration::from_secs(20), "signal delivery");
        let (a, b) = (Chan::new(4), Chan::new(4));
        signal::notify(&a, &[Signal::SIGUSR1, Signal::SIGUSR2]);
        signal::notify(&b, &[Signal::SIGUSR1]);
        raise(Signal::SIGUSR1);
        raise(Signal::SIGUSR2);
        let got_a = [a.recv().unwrap(), a.recv().unwrap()];
        let got_b = b.recv().unwrap();
        println!("a={} / {}, b={got_b}", got_a[0], got_a[1]);
        signal::stop(&a);
        // b still wants SIGUSR1.
        raise(Signal::SIGUSR1);
        println!("b again={}", b.recv().unwrap());
        signal::stop(&b);
        println!("stopped");
        raise(Signal::SIGUSR1); // default action: terminate
        std::thread::sleep(Duration::from_secs(5));
        println!("unreachable");
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(
        stdout.contains("a=user defined signal 1 / user defined signal 2, b=user defined signal 1"),
        "{stdout} {stderr}"
    );
    assert!(stdout.contains("b again=user defined signal 1"), "{stdout}");
    assert!(stdout.contains("stopped") && !stdout.contains("unreachable"), "{stdout}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGUSR1), "{:?} {stderr}", out.status);
}

/// `notify_context`: a signal cancels the context; so does `stop`.
#[test]
fn notify_context_is_cancelled_by_the_signal() {
    const NAME: &str = "notify_context_is_cancelled_by_the_signal";
    if is_child(NAME) {
        let _dog = watchdog(Duration::from_secs(20), "notify_context");
        go::run(|| {
            let (ctx, stop) = signal::notify_context(&go::context::background(), &[Signal::SIGINT]);
            let worker_ctx = ctx.clone();
            let worker = go::spawn(move || {
                worker_ctx.done().recv();
                "worker saw the interrupt"
            });
            go::time::sleep(Duration::from_millis(20));
            raise(Signal::SIGINT);
            println!("{}", worker.join().unwrap());
            println!("err={:?}", ctx.err());
            stop();

            let (ctx, stop) = signal::notify_context(&go::context::background(), &[Signal::SIGINT]);
            stop();
            ctx.done().recv();
            println!("stopped err={:?}", ctx.err());
        });
        raise(Signal::SIGINT); // default again: terminate
        std::thread::sleep(Duration::from_secs(5));
        println!("unreachable");
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(stdout.contains("worker saw the interrupt"), "{stdout} {stderr}");
    assert!(stdout.contains("err=Some(Canceled)"), "{stdout}");
    assert!(stdout.contains("stopped err=Some(Canceled)"), "{stdout}");
    assert!(!stdout.contains("unreachable"), "{stdout}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGINT), "{:?}", out.status);
}

/// Notifying SIGQUIT replaces the goroutine dump; after `stop` the dump is
/// back, with Go's `SIGQUIT: quit` and exit status 2.
#[test]
fn sigquit_goes_to_the_channel_then_back_to_the_dump() {
    const NAME: &str = "sigquit_goes_to_the_channel_then_back_to_the_dump";
    if is_child(NAME) {
        let _dog = watchdog(Duration::from_secs(20), "sigquit");
        go::run(|| {
            let quits = Chan::new(1);
            signal::notify(&quits, &[Signal::SIGQUIT]);
            raise(Signal::SIGQUIT);
            println!("got {}", quits.recv().unwrap());
            signal::stop(&quits);
            println!("survived");
            raise(Signal::SIGQUIT);
            go::time::sleep(Duration::from_secs(5));
            println!("unreachable");
        });
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(stdout.contains("got quit") && stdout.contains("survived"), "{stdout} {stderr}");
    assert!(!stdout.contains("unreachable"), "{stdout}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("SIGQUIT: quit\n"), "{stderr}");
}

/// A program whose every goroutine waits on a signal channel is not
/// deadlocked, as in Go (`signal.Notify(c, os.Interrupt); <-c` is how a Go
/// program waits for Ctrl-C): a signal may still come. The parent sends it
/// once the child says it waits.
#[test]
fn waiting_for_a_signal_is_not_a_deadlock() {
    use std::io::BufRead;
    const NAME: &str = "waiting_for_a_signal_is_not_a_deadlock";
    if is_child(NAME) {
        let _dog = watchdog(Duration::from_secs(30), "waiting for a signal");
        go::run(|| {
            let ch = Chan::new(1);
            signal::notify(&ch, &[Signal::SIGUSR1]);
            println!("waiting");
            println!("got {}", ch.recv().unwrap());
        });
        return;
    }
    let mut child = common::this_test_binary()
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env("GO_TEST_CHILD", NAME)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // (The harness prints "test ... " before the test's own output, on one line.)
    assert!(lines.any(|l| l.unwrap().ends_with("waiting")), "the child never got to wait");
    // Long enough for a deadlock check to have run (sysmon looks every 10 ms
    // while nothing runs) before the signal comes.
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGUSR1) };
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(rest.iter().any(|l| l.ends_with("got user defined signal 1")), "{rest:?} {stderr}");
    assert!(!stderr.contains("deadlock"), "{stderr}");
}
