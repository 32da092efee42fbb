//! Which targets the runtime supports. Shared by `build.rs`, which refuses
//! the others with this one message, and by the workspace's
//! `tests/platform.rs`.

/// The targets the runtime is built and tested for, as a user reads them.
pub(crate) const SUPPORTED: &str = "Linux on x86_64 or aarch64";

/// `None` if the runtime supports `target_os`/`target_arch` (the values of
/// Cargo's `CARGO_CFG_TARGET_OS` and `CARGO_CFG_TARGET_ARCH`), otherwise
/// the message that explains why the build stops.
pub(crate) fn unsupported(os: &str, arch: &str) -> Option<String> {
    if os == "linux" && matches!(arch, "x86_64" | "aarch64") {
        return None;
    }
    Some(format!(
        "the `go` crate's runtime supports {SUPPORTED} only; this target is {os} on {arch}. \
         It switches goroutine stacks with corosensei, guards them with mmap/madvise and \
         polls sockets with epoll, and none of that is written for {os}/{arch} yet."
    ))
}
