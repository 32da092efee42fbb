//! `go::panic::recover`: Go's `recover()` as a call around the body, with
//! Go's printing of the value and `panic(r)` to raise it again. The
//! crash-report cases run in child processes.

mod common;

use common::{is_child, run_child, texts};
use go::panic::recover;

#[test]
fn recover_returns_the_value_or_the_panic() {
    go::run(|| {
        assert_eq!(recover(|| 1 + 1).ok(), Some(2));
        let r = recover(|| -> u8 { panic!("boom") }).unwrap_err();
        assert_eq!(r.to_string(), "boom");
        assert_eq!(r.downcast_ref::<&str>(), Some(&"boom"));
        let r = recover(|| -> u8 { panic!("code {}", 7) }).unwrap_err();
        assert_eq!(r.to_string(), "code 7");
        // Go's %v of non-string values.
        let r = recover(|| std::panic::panic_any(3.5_f64)).unwrap_err();
        assert_eq!(r.to_string(), "3.5");
        let r = recover(|| std::panic::panic_any(true)).unwrap_err();
        assert_eq!(format!("{r:?}"), "Panic(\"true\")");
        // Nested: the inner recover stops the inner panic only.
        let outer = recover(|| {
            let inner = recover(|| -> () { panic!("inner") });
            assert_eq!(inner.unwrap_err().to_string(), "inner");
            panic!("outer")
        });
        assert_eq!(outer.unwrap_err().to_string(), "outer");
    });
}

/// `resume` raises the same value again: `join` sees it.
#[test]
fn resume_raises_the_same_value() {
    let h = go::spawn(|| {
        let r = recover(|| -> u8 { std::panic::panic_any(41_u64 + 1) }).unwrap_err();
        r.resume();
    });
    assert_eq!(h.join().unwrap_err().downcast_ref::<u64>(), Some(&42));
}

/// Many goroutines recovering at once: every panic is caught by its own
/// goroutine and the count adds up.
#[test]
fn goroutines_recover_their_own_panics() {
    let wg = go::sync::WaitGroup::new();
    let caught = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for i in 0..2_000usize {
        let caught = caught.clone();
        wg.go(move || {
            let r = recover(|| {
                go::runtime::gosched();
                if i % 2 == 0 {
                    panic!("even {i}");
                }
                i
            });
            match r {
                Err(p) => {
                    assert_eq!(p.to_string(), format!("even {i}"));
                    caught.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(v) => assert_eq!(v, i),
            }
        });
    }
    wg.wait();
    assert_eq!(caught.load(std::sync::atomic::Ordering::Relaxed), 1_000);
}

/// A recovered panic prints nothing and does not end the program; a later
/// panic in the same goroutine is reported on its own, as in Go.
#[test]
fn a_recovered_panic_is_over() {
    const NAME: &str = "a_recovered_panic_is_over";
    if is_child(NAME) {
        go::run(|| {
            let h = go::spawn(|| {
                let r = recover(|| panic!("first"));
                println!("recovered: {}", r.unwrap_err());
                panic!("second");
            });
            let _ = h.join();
            let quiet = go::spawn(|| recover(|| panic!("quiet")).is_err()).join().unwrap();
            println!("quiet recovered: {quiet}");
            go::spawn(|| {
                let _ = recover(|| panic!("before"));
                panic!("after");
            });
            go::time::sleep(std::time::Duration::from_secs(5));
        });
        return;
    }
    let out = run_child(NAME, &[]);
    let (stdout, stderr) = texts(&out);
    assert!(stdout.contains("recovered: first"), "{stdout}");
    assert!(stdout.contains("quiet recovered: true"), "{stdout}");
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("panic: after\n"), "stderr: {stderr}");
    for gone in ["before", "first", "quiet"] {
        assert!(!stderr.contains(gone), "{gone} in stderr: {stderr}");
    }
}
