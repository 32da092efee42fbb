// A wrong argument type is reported at the argument, as for a plain call.
fn add(a: i32, b: i32) -> i32 {
    a + b
}

fn main() {
    let two = "two";
    go::go!(add(1, two));
}
