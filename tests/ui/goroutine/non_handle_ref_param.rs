#[go::goroutine]
fn total(xs: &Vec<u64>) -> u64 {
    xs.iter().sum()
}

fn main() {}
