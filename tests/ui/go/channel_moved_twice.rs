use go::chan::Chan;

fn producer(ch: Chan<i32>) {
    ch.send(1);
}

fn consumer(ch: Chan<i32>) {
    println!("{:?}", ch.recv());
}

fn main() {
    let ch = go::make!(chan i32);
    go::go!(producer(ch));
    go::go!(consumer(ch));
}
