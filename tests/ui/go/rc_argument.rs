use std::rc::Rc;

fn show(v: Rc<i32>) {
    println!("{v}");
}

fn main() {
    let rc = Rc::new(1);
    go::go!(show(rc));
}
