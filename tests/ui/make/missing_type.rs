fn main() {
    let _c: go::chan::Chan<i32> = go::make!(chan);
}
