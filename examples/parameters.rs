//! Seed section 7, "Goroutines with Parameters".
//!
//! ```go
//! func greet(name string) {
//!     fmt.Println("Hello", name)
//! }
//!
//! func main() {
//!     go greet("Chirag")
//!     go greet("Rahul")
//!     time.Sleep(time.Second)
//! }
//! ```

use go::{go, time};

fn greet(name: &str) {
    println!("Hello {name}");
}

#[go::main]
fn main() {
    go!(greet("Chirag"));
    go!(greet("Rahul"));

    time::sleep(time::SECOND);
}
