fn main() {
    let n = 5;
    let v = go::select! {
        case v := <-n => v,
        default => 0,
    };
    println!("{v}");
}
