//! Seed section 12, "Complete Example": five goroutines print in any order.
//!
//! ```go
//! func printNumber(n int, wg *sync.WaitGroup) {
//!     defer wg.Done()
//!     fmt.Println("Number:", n)
//! }
//!
//! func main() {
//!     var wg sync.WaitGroup
//!     for i := 1; i <= 5; i++ {
//!         wg.Add(1)
//!         go printNumber(i, &wg)
//!     }
//!     wg.Wait()
//! }
//! ```

use go::sync::WaitGroup;
use go::{defer, go};

fn print_number(n: i32, wg: &WaitGroup) {
    defer!(wg.done());

    println!("Number: {n}");
}

#[go::main]
fn main() {
    let wg = WaitGroup::new();

    for i in 1..=5 {
        wg.add(1);

        go!(print_number(i, &wg));
    }

    wg.wait();
}
