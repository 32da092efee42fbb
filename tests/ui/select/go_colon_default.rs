// Go's `default:` ported without changing the colon.
fn main() {
    let ch = go::make!(chan i32, 1);
    go::select! {
        case v := <-ch => println!("{v}"),
        default: println!("nothing ready"),
    }
}
