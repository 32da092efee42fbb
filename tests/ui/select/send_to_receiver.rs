fn main() {
    let ch = go::make!(chan i32, 1);
    let rx = ch.receiver();
    go::select! {
        case rx <- 1 => {},
        default => {},
    }
}
