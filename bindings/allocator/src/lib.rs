//! The global allocator of the Python and Node bindings: mimalloc, set up for a library that
//! another runtime loads into its process. The core does not choose an allocator (a Rust
//! program using it keeps its own); each binding installs this one:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: nairi_allocator::Allocator = nairi_allocator::Allocator;
//! // and once, when the module is loaded:
//! nairi_allocator::configure();
//! ```
//!
//! Why mimalloc: much of a call's memory is allocated on one thread and freed on another (its
//! arguments on the Python or JavaScript thread, its result on a tokio worker), and glibc
//! serialises such frees on the owning arena's lock (a futex wait or wake in about half the
//! Node calls at 10 in flight; bench/NOTES.md). mimalloc hands them to the owning thread
//! through a lock-free list.
//!
//! Its TLS model is local-dynamic: with mimalloc's default (initial-exec), a second library
//! bundling mimalloc fails to load in the same process ("cannot allocate memory in static TLS
//! block"), which a Node or Python process full of native modules must not risk.

#![deny(missing_docs)]

/// The allocator to install with `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// Sets the allocator's process-wide options; call it when the module is loaded. Idempotent.
///
/// Freed pages go back to the system at once rather than after mimalloc's default delay (1 s
/// in the v3 this crate builds): with the default, the peak RSS of 10,000 concurrent Node runs
/// rose from about 250 to 304 MB; purging at once keeps it near glibc's, at no measurable cost
/// per call (bench/NOTES.md).
pub fn configure() {
    // SAFETY: reads and sets a process-wide option; mimalloc reads it when it next purges.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}

/// `mi_option_purge_delay`, which libmimalloc-sys names no constant for: the option before
/// `use_numa_nodes` in the enum of the headers it vendors (v2 and v3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Its default in the vendored v3 (`src/options.c`; the header's comment still says 10): only
/// that value is changed, so a renumbered option is left alone (and the test below fails).
const DEFAULT_PURGE_DELAY_MS: std::os::raw::c_long = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_sets_an_immediate_purge_once_and_leaves_it() {
        // SAFETY: reads a process-wide option.
        let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // The option is the purge delay, at its documented default, before `configure`.
        assert_eq!(get(), DEFAULT_PURGE_DELAY_MS);
        configure();
        assert_eq!(get(), 0);
        configure();
        assert_eq!(get(), 0);
    }

    /// Proves which option `PURGE_DELAY` is: mimalloc sets it from `MIMALLOC_PURGE_DELAY`
    /// when the process starts (here, in a child run of this test with the variable set).
    #[test]
    fn the_option_is_the_one_mimalloc_reads_from_mimalloc_purge_delay() {
        const NAME: &str = "tests::the_option_is_the_one_mimalloc_reads_from_mimalloc_purge_delay";
        if std::env::var_os("NAIRI_ALLOCATOR_PROBE").is_some() {
            // SAFETY: reads a process-wide option.
            println!("purge_delay={}", unsafe {
                libmimalloc_sys::mi_option_get(PURGE_DELAY)
            });
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture"])
            .env("NAIRI_ALLOCATOR_PROBE", "1")
            .env("MIMALLOC_PURGE_DELAY", "123")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("purge_delay=123"), "{stdout}");
    }
}
