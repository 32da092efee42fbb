#[go::goroutine]
fn increment(counter: &mut i32) {
    *counter += 1;
}

fn main() {}
