//! The panic hook: a panic on a goroutine records where it happened in the
//! goroutine's control block and prints nothing (the panic is either handed
//! to `join` or reported in Go's format when the goroutine ends); a panic on
//! a plain thread goes to the previous hook unchanged.

use super::current;

/// Installs the goroutine-aware panic hook (once, at runtime start).
pub(crate) fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match current::current_ref() {
        Some(g) => g.set_panic_site(
            info.location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default(),
        ),
        None => previous(info),
    }));
}
