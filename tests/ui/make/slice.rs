fn main() {
    let _s = go::make!([]int, 3);
}
