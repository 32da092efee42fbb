#[go::main(stack_size = 16 << 20, stack_size = 32 << 20)]
fn main() {}
