//! Seed section 6, "Using WaitGroup": `go worker(i, &wg)` ports unchanged,
//! because a `WaitGroup` is a shared handle that `go!` clones.
//!
//! ```go
//! func worker(id int, wg *sync.WaitGroup) {
//!     defer wg.Done()
//!     fmt.Println("Worker", id, "started")
//! }
//!
//! func main() {
//!     var wg sync.WaitGroup
//!     for i := 1; i <= 3; i++ {
//!         wg.Add(1)
//!         go worker(i, &wg)
//!     }
//!     wg.Wait()
//!     fmt.Println("All workers finished")
//! }
//! ```

use go::sync::WaitGroup;
use go::{defer, go};

fn worker(id: i32, wg: &WaitGroup) {
    defer!(wg.done());

    println!("Worker {id} started");
}

#[go::main]
fn main() {
    let wg = WaitGroup::new();

    for i in 1..=3 {
        wg.add(1);

        go!(worker(i, &wg));
    }

    wg.wait();

    println!("All workers finished");
}
