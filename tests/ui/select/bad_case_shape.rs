fn main() {
    let ch = go::make!(chan i32);
    go::select! {
        case ch => {},
    }
}
