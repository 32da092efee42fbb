fn main() {
    let name = String::from("gopher");
    go::go!(|| println!("hello {name}"));
}
