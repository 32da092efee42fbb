fn inc(n: &mut i32) {
    *n += 1;
}

fn main() {
    let mut n = 0;
    go::go!(inc(&mut n));
    println!("{n}");
}
