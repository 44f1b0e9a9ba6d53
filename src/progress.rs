//! Progress on stderr for long scans: only on a terminal, never in CI logs or hooks' output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts items, bytes and findings from many threads; draws at most ~10 times a second.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    items: AtomicU64,
    bytes: AtomicU64,
    findings: AtomicU64,
    noun: &'static str,
}

impl Progress {
    /// `total_bytes` gives an ETA when known (history scans); `noun` names the items (files, blobs).
    pub(crate) fn new(enabled: bool, noun: &'static str, total_bytes: Option<u64>) -> Progress {
        let bar = enabled.then(|| {
            let bar = match total_bytes {
                Some(total) => {
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                }
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total_bytes.is_some() {
                "{spinner} {msg} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})"
            } else {
                "{spinner} {msg} {bytes} ({bytes_per_sec})"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            findings: AtomicU64::new(0),
            noun,
        }
    }

    /// One item of `bytes` done, with `findings` found in it.
    pub(crate) fn inc(&self, bytes: u64, findings: u64) {
        let Some(bar) = &self.bar else { return };
        // Own atomics, and the bar's lock only every 64 items: workers must not queue on it.
        let items = self.items.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let found = self.findings.fetch_add(findings, Ordering::Relaxed) + findings;
        if findings > 0 || items.is_multiple_of(64) {
            bar.set_position(total);
            bar.set_message(format!(
                "{}, {} ·",
                plural(items, self.noun.trim_end_matches('s')),
                plural(found, "finding")
            ));
        }
    }

    /// Removes the bar before the report is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `1234567` → `1.2 MB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
