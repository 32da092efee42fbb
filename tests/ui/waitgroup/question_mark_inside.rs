fn show(s: &str) {
    println!("{s}");
}

fn parse_all(inputs: &[&str]) -> Result<(), std::num::ParseIntError> {
    go::waitgroup! {
        for s in inputs {
            go show(s);
        }
        let n: u32 = inputs[0].parse()?;
        println!("{n}");
    };
    Ok(())
}

fn main() {
    let _ = parse_all(&["1"]);
}
