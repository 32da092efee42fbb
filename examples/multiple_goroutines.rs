//! Seed section 4, "Multiple Goroutines": two tasks print and sleep
//! concurrently, so their lines interleave.
//!
//! ```go
//! func task(name string) {
//!     for i := 1; i <= 3; i++ {
//!         fmt.Println(name, i)
//!         time.Sleep(time.Millisecond * 500)
//!     }
//! }
//!
//! func main() {
//!     go task("Task A")
//!     go task("Task B")
//!     time.Sleep(time.Second * 3)
//! }
//! ```

use go::{go, time};

fn task(name: &'static str) {
    for i in 1..=3 {
        println!("{name} {i}");

        time::sleep(time::MILLISECOND * 500);
    }
}

#[go::main]
fn main() {
    go!(task("Task A"));
    go!(task("Task B"));

    time::sleep(time::SECOND * 3);
}
