fn work(i: u32) {
    println!("{i}");
}

fn main() {
    go::waitgroup! {
        for i in 0..3 {
            work(i);
        }
    };
}
