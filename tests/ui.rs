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
