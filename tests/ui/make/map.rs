fn main() {
    let _m = go::make!(map[string]int);
}
