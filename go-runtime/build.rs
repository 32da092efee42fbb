//! Stops the build with one message on a target the runtime does not
//! support, instead of dozens of unresolved `libc` names.

#[path = "build/platform.rs"]
mod platform;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/platform.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if let Some(message) = platform::unsupported(&os, &arch) {
        println!("cargo::error={message}");
    }
}
