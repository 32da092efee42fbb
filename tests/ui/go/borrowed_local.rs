fn print(s: &String) {
    println!("{s}");
}

fn main() {
    let s = String::from("hello");
    go::go!(print(&s));
}
