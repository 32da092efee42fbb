#[go::goroutine]
fn greet(name: &str) {
    println!("Hello {name}");
}

fn main() {}
