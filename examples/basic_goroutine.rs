//! Seed section 2, "Basic Goroutine Example".
//!
//! ```go
//! func printMessage() {
//!     fmt.Println("Hello from goroutine")
//! }
//!
//! func main() {
//!     go printMessage()
//!     time.Sleep(time.Second)
//!     fmt.Println("Main function")
//! }
//! ```

use go::{go, time};

fn print_message() {
    println!("Hello from goroutine");
}

#[go::main]
fn main() {
    go!(print_message());

    time::sleep(time::SECOND);

    println!("Main function");
}
