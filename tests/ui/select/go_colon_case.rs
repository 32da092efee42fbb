// Go's `case v := <-ch:` ported without changing the colon.
fn main() {
    let ch = go::make!(chan i32, 1);
    ch.send(1);
    go::select! {
        case v := <-ch: {
            println!("{v}");
        }
    }
}
