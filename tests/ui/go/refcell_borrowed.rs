use std::cell::RefCell;
use std::sync::Arc;

fn bump(c: &RefCell<i32>) {
    *c.borrow_mut() += 1;
}

fn main() {
    let cell = Arc::new(RefCell::new(0));
    go::go!(bump(&cell));
}
