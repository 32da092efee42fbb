//! The compile-time contract: every mistake in tests/ui/<macro>/ (and
//! tests/ui/context/: go vet's lostcancel as a lint) is
//! rejected with the message committed beside it (in Go's terms, pointing
//! at the user's token), and tests/ui_pass/ compiles. The `.stderr` files
//! follow the wording of the pinned compiler (Rust 1.95); regenerate them
//! with `TRYBUILD=overwrite cargo test --test ui` after reviewing a change.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
    t.pass("tests/ui_pass/*.rs");
}

/// The committed messages name only what a user can look up: no hidden
/// module, no source file of this crate's runtime, and no helper trait
/// local to the user's function (rustc prints those as `main::Name`, or
/// `show::Send` inside `fn show`).
#[test]
fn ui_messages_name_only_public_items() {
    let mut offenders = Vec::new();
    for dir in std::fs::read_dir("tests/ui").unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "stderr") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let internal = ["__private", "go-runtime/src", "go-macros/src", "main::"]
                    .iter()
                    .any(|s| line.contains(s))
                    || local_trait(line);
                if internal {
                    offenders.push(format!("{}: {line}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "internal names in messages:\n{}", offenders.join("\n"));
}

/// Whether `line` names a `Send` or `SharedHandle` under a path other than
/// std's or ours: a local helper trait.
fn local_trait(line: &str) -> bool {
    ["::Send`", "::SharedHandle`"].iter().any(|name| {
        line.match_indices(name).any(|(at, _)| {
            let path = &line[..at];
            let start = path.rfind('`').map_or(0, |i| i + 1);
            !matches!(&path[start..], "go" | "std::marker" | "core::marker")
        })
    })
}
