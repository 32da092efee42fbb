//! The targets the runtime accepts, and what it says to the others (its
//! build script prints that message as a Cargo error and stops).

#[path = "../go-runtime/build/platform.rs"]
mod platform;

#[test]
fn linux_on_x86_64_and_aarch64_build() {
    assert_eq!(platform::unsupported("linux", "x86_64"), None);
    assert_eq!(platform::unsupported("linux", "aarch64"), None);
    // The machine running this test is one of them.
    assert_eq!(platform::unsupported(std::env::consts::OS, std::env::consts::ARCH), None);
}

#[test]
fn other_targets_get_one_clear_message() {
    for (os, arch) in
        [("macos", "aarch64"), ("windows", "x86_64"), ("linux", "riscv64"), ("freebsd", "x86_64")]
    {
        let message = platform::unsupported(os, arch).expect("unsupported target accepted");
        assert!(message.contains("Linux on x86_64 or aarch64 only"), "{message}");
        assert!(message.contains(&format!("{os} on {arch}")), "{message}");
    }
}
