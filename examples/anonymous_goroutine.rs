//! Seed section 3, "Goroutine with Anonymous Function".
//!
//! ```go
//! func main() {
//!     go func() {
//!         fmt.Println("Running goroutine")
//!     }()
//!     time.Sleep(time.Second)
//! }
//! ```

use go::{go, time};

#[go::main]
fn main() {
    go!({
        println!("Running goroutine");
    });

    time::sleep(time::SECOND);
}
