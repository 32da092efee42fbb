//! Procedural macros of the `go` crate. Use them through `go`; this crate's
//! macros arrive with the macro DSL (`go!`, `select!`, `defer!`,
//! `#[go::main]`).
