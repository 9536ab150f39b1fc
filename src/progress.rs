//! The one place progress bars are made: on stderr, and only when stderr is a terminal (a pipe or a
//! file never gets control sequences), unless the user said `--no-progress`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const BAR: &str =
    "{bytes:>10} / {total_bytes:<10} [{wide_bar}] {binary_bytes_per_sec:>12}  ETA {eta}";
const TRANSFER: &str = "{spinner} {msg}  {binary_bytes_per_sec:>12}  {elapsed}";
const SENDING: &str = "sent {bytes:>10} / {total_bytes:<10} [{wide_bar}] {binary_bytes_per_sec:>12}  ETA {eta}  {msg}";
const COUNTER: &str = "{spinner} {bytes:>10}  {binary_bytes_per_sec:>12}  {elapsed}";

/// A bar for `total` bytes (a byte counter when the total is unknown); hidden unless `wanted` and
/// stderr is a terminal.
pub(crate) fn bytes(total: Option<u64>, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    set_total(&bar, total);
    bar
}

/// A counter for a two-way transfer (`--progress` of listen and connect): the message says what went
/// each way; the position is both together. Hidden unless stderr is a terminal.
pub(crate) fn transfer() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(TRANSFER) {
        bar.set_style(style);
    }
    bar
}

/// Sets (or learns) the total, switching between the bar and the counter look.
pub(crate) fn set_total(bar: &ProgressBar, total: Option<u64>) {
    if bar.is_hidden() {
        return;
    }
    let template = if total.is_some() { BAR } else { COUNTER };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    match total {
        Some(n) => bar.set_length(n),
        None => bar.unset_length(),
    }
}

/// `--progress` with stdin a regular file: a bar for the `total` bytes to send, with an ETA; the
/// message says what was received.
pub(crate) fn set_sending_total(bar: &ProgressBar, total: Option<u64>) {
    if bar.is_hidden() {
        return;
    }
    if let Some(n) = total
        && let Ok(style) = ProgressStyle::with_template(SENDING)
    {
        bar.set_style(style.progress_chars("=> "));
        bar.set_length(n);
    }
}
