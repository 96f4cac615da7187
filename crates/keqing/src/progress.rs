//! Progress bars for long command-line work (`import`, `backup`, `restore`,
//! `care run`), on standard error and only when it is a terminal: output
//! that goes to a file or a pipe, and a script's log, get no bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

/// What a bar counts.
#[derive(Clone, Copy)]
pub enum Unit {
    Rows,
    Bytes,
    Customers,
}

/// A bar drawn while work goes on (from when its total is known); cleared
/// when it ends.
pub struct Bar {
    bar: ProgressBar,
    terminal: bool,
}

impl Bar {
    /// A bar headed `what`, drawn when standard error is a terminal.
    pub fn new(what: &str, unit: Unit) -> Bar {
        let counted = match unit {
            Unit::Rows => "{human_pos}/{human_len} rows",
            Unit::Bytes => "{bytes}/{total_bytes}",
            Unit::Customers => "{human_pos}/{human_len} customers",
        };
        let style = ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:32.cyan/blue}}] {counted} {{percent}}% ({{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        // Hidden until the work tells its total.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(style);
        bar.set_message(what.to_string());
        Bar {
            bar,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// `(done, total)` as the work tells it; a total of 0 is not known yet.
    pub fn set(&self, done: u64, total: u64) {
        if total > 0 && self.bar.length() != Some(total) {
            self.bar.set_length(total);
            if self.terminal && self.bar.is_hidden() {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        self.bar.set_position(done);
    }

    /// The bar as keqing-app's progress callback.
    pub fn progress(&self) -> keqing_app::Progress {
        let bar = Bar {
            bar: self.bar.clone(),
            terminal: self.terminal,
        };
        Arc::new(move |done, total| bar.set(done, total))
    }

    /// The work ended: the bar goes, the terminal keeps the report.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    /// A bar left by an error goes too: the error is printed on a clean line.
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}
