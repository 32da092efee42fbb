//! `#[go::main]` runs `main` as goroutine 1. docs/go-semantics.md, 9: when `main` returns the program exits at once, even if
//! other goroutines are still running; their deferred calls do not run.
//!
//! ```go
//! func main() {
//!     go func() {
//!         defer fmt.Println("never printed")
//!         for { time.Sleep(time.Millisecond) }
//!     }()
//!     time.Sleep(10 * time.Millisecond)
//!     fmt.Println("main returns")
//! }
//! ```

use go::{defer, go, time};

#[go::main]
fn main() {
    go!({
        defer!(println!("never printed"));
        loop {
            time::sleep(time::MILLISECOND);
        }
    });
    time::sleep(10 * time::MILLISECOND);
    println!("main is goroutine {}", go::runtime::goroutine_id().unwrap_or(0));
    println!("main returns");
}
