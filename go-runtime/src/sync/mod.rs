//! Go's `sync` package: primitives that park the goroutine, never the OS
//! thread, and also work from plain threads.

mod waitgroup;

pub use self::waitgroup::WaitGroup;
