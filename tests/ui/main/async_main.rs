#[go::main]
async fn main() {}
