fn main() {
    let mut counter = 0;
    go::waitgroup! {
        for _ in 0..1000 {
            go {
                counter += 1;
            };
        }
    };
    println!("{counter}");
}
