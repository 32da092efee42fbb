fn main() {
    go::go!(move |x: i32| println!("{x}"));
}
