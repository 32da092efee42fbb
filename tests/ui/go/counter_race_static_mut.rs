// The classic `var counter int` + `counter++` race as a `static mut`.
static mut COUNTER: i32 = 0;

fn main() {
    for _ in 0..1000 {
        go::go!({
            unsafe { COUNTER += 1 }
        });
    }
}
