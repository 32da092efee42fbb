// The classic race: `func increment() { counter++ }` over a package variable.
static mut COUNTER: i32 = 0;

#[go::goroutine]
fn increment() {
    unsafe {
        COUNTER += 1;
    }
}

fn main() {
    for _ in 0..1000 {
        go::go!(increment());
    }
}
