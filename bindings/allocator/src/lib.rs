//! The Node addon's global allocator: mimalloc, set up for a library that another runtime
//! loads into its process. The core does not choose an allocator (a Rust program using it
//! keeps its own); the addon installs this one:
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: nairi_allocator::Allocator = nairi_allocator::Allocator;
//!
//! fn main() {
//!     // Once, when the module is loaded (the addon's `module_init`).
//!     nairi_allocator::configure();
//!     let on_mimalloc = vec![1u8; 64];
//!     assert_eq!(on_mimalloc.len(), 64);
//! }
//! ```
//!
//! Why mimalloc: much of a call's memory is allocated on one thread and freed on another (its
//! arguments on the JavaScript thread, its result on a tokio worker), and glibc serialises such
//! frees on the owning arena's lock (a futex wait or wake in about half the calls at 10 in
//! flight; bench/NOTES.md). mimalloc hands them to the owning thread through a lock-free list.
//!
//! Its TLS model is local-dynamic: with mimalloc's default (initial-exec), a second library
//! bundling mimalloc fails to load in the same process ("cannot allocate memory in static TLS
//! block"), which a process full of native modules must not risk.
//!
//! The Python binding keeps the system allocator: a Python process may `fork()` while the
//! binding's tokio threads allocate, and mimalloc registers no `pthread_atfork` handlers (a
//! lock held by another thread at the fork stays held in the child), where glibc resets its
//! arenas in the child. Node does not fork a running process.

#![deny(missing_docs)]

/// The allocator to install with `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// Sets the allocator's process-wide options; call it when the module is loaded. Idempotent.
///
/// Freed pages go back to the system at once rather than after mimalloc's default delay (1 s
/// in the v3 this crate builds): with the default, the peak RSS of 10,000 concurrent Node runs
/// rose from about 250 to 304 MB; purging at once keeps it near glibc's, at no measurable cost
/// per call (bench/NOTES.md). A delay the user chose (`MIMALLOC_PURGE_DELAY`, or its old name
/// `MIMALLOC_RESET_DELAY`) is kept.
pub fn configure() {
    let chosen = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    // SAFETY: reads and sets a process-wide option; mimalloc reads it when it next purges.
    unsafe {
        if !chosen && libmimalloc_sys::mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}

/// `mi_option_purge_delay`, which libmimalloc-sys names no constant for: the option before
/// `use_numa_nodes` in the enum of the headers it vendors (v2 and v3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Its default in the vendored v3 (`src/options.c`; the header's comment still says 10): only
/// that value is changed, so a renumbered option is left alone (and the tests below fail).
const DEFAULT_PURGE_DELAY_MS: std::os::raw::c_long = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    /// In the child a test starts (`NAIRI_ALLOCATOR_PROBE` set): prints the purge delay
    /// before, after one and after two `configure` calls, and returns `None`. In the test
    /// itself: runs `test` again as that child, with `env` (and neither mimalloc variable
    /// unless given), and returns what the child printed.
    fn probe(test: &str, env: &[(&str, &str)]) -> Option<String> {
        if std::env::var_os("NAIRI_ALLOCATOR_PROBE").is_some() {
            // SAFETY: reads a process-wide option.
            let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
            let before = get();
            configure();
            let once = get();
            configure();
            println!("purge_delay={before},{once},{}", get());
            return None;
        }
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", test, "--nocapture"])
            .env("NAIRI_ALLOCATOR_PROBE", "1")
            .env_remove("MIMALLOC_PURGE_DELAY")
            .env_remove("MIMALLOC_RESET_DELAY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}");
        let line = stdout.lines().find(|l| l.starts_with("purge_delay="));
        let line = line.unwrap_or_else(|| panic!("no probe line in {stdout}"));
        Some(line.trim_start_matches("purge_delay=").to_owned())
    }

    #[test]
    fn configure_purges_at_once_from_the_default() {
        let name = "tests::configure_purges_at_once_from_the_default";
        if let Some(seen) = probe(name, &[]) {
            assert_eq!(seen, format!("{DEFAULT_PURGE_DELAY_MS},0,0"));
        }
    }

    /// Proves which option `PURGE_DELAY` is (mimalloc sets it from `MIMALLOC_PURGE_DELAY` when
    /// the process starts), and that a delay the user chose is kept, even the default's value.
    #[test]
    fn the_option_is_mimalloc_purge_delay_and_a_chosen_one_is_kept() {
        let name = "tests::the_option_is_mimalloc_purge_delay_and_a_chosen_one_is_kept";
        if let Some(seen) = probe(name, &[("MIMALLOC_PURGE_DELAY", "123")]) {
            assert_eq!(seen, "123,123,123");
            let again = probe(name, &[("MIMALLOC_PURGE_DELAY", "1000")]);
            assert_eq!(again.as_deref(), Some("1000,1000,1000"));
        }
    }
}
