//! Messages and progress for people: everything here goes to stderr, never stdout, with
//! control characters escaped (messages carry file names). Progress bars hide themselves
//! when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::text::sanitize::escape_lines;

/// How chatty a command is on stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    pub quiet: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui { quiet }
    }

    /// Whether bars are drawn at all.
    pub fn shows_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// An informational line (suppressed by `--quiet`).
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("akapit: {}", escape_lines(message.as_ref()));
        }
    }

    /// A note that `--quiet` does not hide, such as the licence terms of a download.
    pub fn notice(&self, message: impl AsRef<str>) {
        eprintln!("akapit: {}", escape_lines(message.as_ref()));
    }

    /// A warning; always shown.
    pub fn warn(&self, message: impl AsRef<str>) {
        eprintln!("akapit: warning: {}", escape_lines(message.as_ref()));
    }

    /// A bar over `len` units with an ETA.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .expect("a valid progress template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar
    }

    /// A bar over `len` bytes.
    pub fn bytes_bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("a valid progress template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar
    }

    /// A spinner for work of unknown length.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        let spinner = ProgressBar::with_draw_target(None, self.target());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        );
        spinner.set_message(message.to_string());
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.quiet {
            ProgressDrawTarget::hidden()
        } else if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            // A log, not a terminal: a plain line every few seconds, so that long work is
            // seen to go on without filling the log.
            ProgressDrawTarget::term_like(Box::new(LogLines::new(log_interval())))
        }
    }
}

/// Seconds between progress lines when stderr is not a terminal: `AKAPIT_PROGRESS_SECONDS`,
/// else 5.
fn log_interval() -> Duration {
    std::env::var("AKAPIT_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(5), Duration::from_secs_f64)
}

/// Progress drawn as plain lines on stderr, at most one per interval.
#[derive(Debug)]
struct LogLines {
    interval: Duration,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl LogLines {
    fn new(interval: Duration) -> Self {
        LogLines {
            interval,
            last: std::sync::Mutex::new(None),
        }
    }

    fn emit(&self, line: &str) -> std::io::Result<()> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // The first drawing comes right away, with nothing done yet: wait one interval.
        let now = std::time::Instant::now();
        let since = last.get_or_insert(now);
        if now.duration_since(*since) >= self.interval {
            *since = now;
            eprintln!("akapit: {}", escape_lines(line));
        }
        Ok(())
    }
}

impl indicatif::TermLike for LogLines {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn write_line(&self, line: &str) -> std::io::Result<()> {
        self.emit(line)
    }

    fn write_str(&self, text: &str) -> std::io::Result<()> {
        self.emit(text)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}
