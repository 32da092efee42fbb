use std::rc::Rc;

#[go::goroutine]
fn show(v: Rc<String>) {
    println!("{v}");
}

fn main() {}
