//! Seed section 9, "Solving Race Condition with Mutex". Go's
//! `mutex.Lock(); counter++; mutex.Unlock()` over two package variables
//! becomes one `Mutex<i32>` that owns the counter: the data cannot be
//! touched without the lock.
//!
//! ```go
//! var counter int
//! var mutex sync.Mutex
//!
//! func increment(wg *sync.WaitGroup) {
//!     defer wg.Done()
//!     mutex.Lock()
//!     counter++
//!     mutex.Unlock()
//! }
//!
//! func main() {
//!     var wg sync.WaitGroup
//!     for i := 0; i < 1000; i++ {
//!         wg.Add(1)
//!         go increment(&wg)
//!     }
//!     wg.Wait()
//!     fmt.Println(counter)
//! }
//! ```

use go::sync::{Mutex, WaitGroup};
use go::{defer, go};

static COUNTER: Mutex<i32> = Mutex::new(0);

fn increment(wg: &WaitGroup) {
    defer!(wg.done());

    let mut counter = COUNTER.lock();

    *counter += 1;
}

#[go::main]
fn main() {
    let wg = WaitGroup::new();

    for _ in 0..1000 {
        wg.add(1);

        go!(increment(&wg));
    }

    wg.wait();

    println!("{}", COUNTER.lock());
}
