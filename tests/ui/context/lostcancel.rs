// Go's `go vet` reports a context whose cancel function is dropped
// (lostcancel); here the compiler warns, and this crate denies it.
#![deny(unused_must_use)]

fn main() {
    let parent = go::context::background();
    go::context::with_timeout(&parent, std::time::Duration::from_secs(1));
    go::context::with_cancel(&parent);
}
