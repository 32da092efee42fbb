//! The documents stay true: every test that `docs/go-semantics.md` cites
//! as checking a Go behaviour exists, every behaviour says what checks it,
//! and the crash reports the README shows are what the examples print.

mod common;

use std::fs;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn go_semantics_cites_only_tests_that_exist() {
    let doc = fs::read_to_string(Path::new(ROOT).join("docs/go-semantics.md"))
        .expect("docs/go-semantics.md");
    let mut items = 0;
    let mut problems = Vec::new();
    let mut lines = doc.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((num, _)) = line.split_once(". ") else { continue };
        if num.parse::<u32>().is_err() {
            continue;
        }
        items += 1;
        let Some(check) = lines.peek().and_then(|l| l.trim().strip_prefix("Checked by: ")) else {
            problems.push(format!("item {num} has no \"Checked by\" line"));
            continue;
        };
        // "`tests/x.rs`: `fn_a`, `fn_b`; `tests/y.rs`: `fn_c`"
        for clause in check.split(';') {
            let Some((file, names)) = clause.split_once("`: ") else { continue };
            let file = file.trim().trim_start_matches('`');
            // A remark in parentheses after the names is prose.
            let names = names.split(" (").next().unwrap_or(names);
            if !file.starts_with("tests/") {
                continue;
            }
            let Ok(text) = fs::read_to_string(Path::new(ROOT).join(file)) else {
                problems.push(format!("item {num}: {file} does not exist"));
                continue;
            };
            for name in
                names.split(',').filter_map(|n| n.trim().strip_prefix('`')?.split('`').next())
            {
                if !text.contains(&format!("fn {name}(")) {
                    problems.push(format!("item {num}: {file} has no test `{name}`"));
                }
            }
        }
    }
    assert!(items >= 70, "only {items} numbered items found in docs/go-semantics.md");
    assert!(problems.is_empty(), "docs/go-semantics.md:\n{}", problems.join("\n"));
}

/// The text block that follows `marker` in the README.
fn readme_block(readme: &str, marker: &str) -> String {
    let after = readme.split(marker).nth(1).unwrap_or_else(|| panic!("README shows {marker}"));
    let block = after.split("```text\n").nth(1).expect("a text block follows");
    block.split("```").next().expect("the block ends").to_owned()
}

#[test]
fn readme_crash_reports_are_what_the_examples_print() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    for (example, arg) in [("panics", "worker"), ("deadlock", "three")] {
        let shown = readme_block(&readme, &format!("`cargo run --example {example} -- {arg}`:"));
        let out = common::run_example(example, &[arg]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end(), shown.trim_end(), "README's report of {example} {arg}");
    }
}

/// The compile errors the README quotes (a quoted phrase that starts with a
/// type in backticks and speaks of a goroutine) are what rustc prints for a
/// committed `tests/ui` case, word for word.
#[test]
fn readme_quotes_compile_errors_from_the_ui_cases() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut stderr = String::new();
    for dir in std::fs::read_dir("tests/ui").unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "stderr") {
                stderr += &std::fs::read_to_string(path).unwrap();
            }
        }
    }
    // Quoted phrases may wrap across lines in the README.
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let quotes: Vec<&str> = flat
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|q| q.starts_with('`') && q.contains("goroutine"))
        .collect();
    assert!(quotes.len() >= 2, "the README quotes its compile errors: {quotes:?}");
    for q in quotes {
        assert!(stderr.contains(q), "README quotes {q:?}, which no tests/ui case prints");
    }
}
