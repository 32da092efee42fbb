//! Go's panic reports, one scenario per argument:
//!
//! ```text
//! cargo run --example panics -- main        # main panics: its defer! runs, then the report
//! cargo run --example panics -- nested      # a defer! panics while main unwinds
//! cargo run --example panics -- detached    # the same in a goroutine nobody joins
//! cargo run --example panics -- joined      # ... in a joined goroutine: join gets the last panic
//! cargo run --example panics -- worker      # a goroutine's report, created by main
//! ```
//!
//! Each crash ends with exit status 2 and Go's report on stderr, for
//! example, for `main`:
//!
//! ```text
//! deferred ran
//! panic: boom
//!
//! goroutine 1 [running]:
//! panics::explode()
//!     ./examples/panics.rs:41
//! panics::main()
//!     ./examples/panics.rs:62
//! ```
//!
//! (Go indents each frame's file:line with a tab.)
//!
//! The Go program it mirrors:
//!
//! ```go
//! func explode() { panic("boom") }
//!
//! func main() {
//!     defer fmt.Println("deferred ran")
//!     explode()
//! }
//! ```

use go::{defer, go, time};

fn explode() {
    panic!("boom");
}

fn nested() {
    defer!(println!("outer defer ran"));
    defer!(panic!("second"));
    panic!("first");
}

fn worker(id: u32) {
    if id == 3 {
        explode();
    }
}

#[go::main]
fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "main" => {
            defer!(println!("deferred ran"));
            explode();
        }
        "nested" => nested(),
        "detached" => {
            go!(nested());
            time::sleep(10 * time::SECOND);
        }
        "joined" => {
            let h = go!(nested());
            let err = h.join().expect_err("the goroutine panicked");
            println!("join got: {}", err.downcast_ref::<&str>().copied().unwrap_or("?"));
        }
        "worker" => {
            for id in 1..=3 {
                go!(worker(id));
            }
            time::sleep(10 * time::SECOND);
        }
        other => eprintln!("unknown scenario {other:?}: main, nested, detached, joined, worker"),
    }
}
