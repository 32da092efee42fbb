// Go's `return` in the middle of a function that waits for its goroutines;
// inside waitgroup! it would only leave the block's hidden closure.
fn work(i: u32) -> u32 {
    i * 2
}

fn first_ready(n: u32) -> Option<u32> {
    go::waitgroup! {
        for i in 0..n {
            go work(i);
        }
        if n == 0 {
            return None;
        }
    };
    Some(0)
}

fn main() {
    let _ = first_ready(3);
}
