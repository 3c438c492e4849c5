//! Progress of a long [`check`](crate::check()): a bar on a terminal, a line
//! on stderr every few seconds otherwise, nothing for a run that ends
//! within a few seconds.
//!
//! Why: a check explores a thousand executions or more, each a full run of
//! the test under the model checker with its history recorded and checked.
//! In a user's crate the test profile is unoptimised by default, and there
//! such a check can take minutes; with nothing on the screen that looks
//! like a hang. So a long check says how far it is and how fast it goes,
//! and, once per process, when it runs unoptimised, what to put in
//! `Cargo.toml` to make it fast.
//!
//! The output goes straight to the process's stderr, past the test
//! harness's output capture (which only captures `print!`-style macros),
//! so that `cargo test` shows it while the test runs. `STM_CHECK_PROGRESS=0`
//! in the environment, or [`CheckConfig::progress`](crate::CheckConfig::progress)
//! set to `false`, turns it off.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The environment variable that turns progress output off (`0`, `off`,
/// `false` or `no`).
pub const PROGRESS_ENV: &str = "STM_CHECK_PROGRESS";

/// A run shorter than this shows nothing.
const SHOW_AFTER: Duration = Duration::from_secs(3);

/// Without a terminal, a line at most this often.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The optimisation level stm-check itself was built with (set by its build
/// script from cargo's `OPT_LEVEL`). `cfg!(debug_assertions)` would not
/// do: the recommended fix, `opt-level = 3` in the test profile, keeps
/// debug assertions on.
const OPT_LEVEL: &str = env!("STM_CHECK_OPT_LEVEL");

/// Whether the unoptimised-build hint was shown in this process.
static HINTED: AtomicBool = AtomicBool::new(false);

/// Whether the environment allows progress output: anything but `0`,
/// `off`, `false` or `no` (any case) in [`PROGRESS_ENV`], or no value.
pub fn enabled_by_env(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("0" | "off" | "false" | "no")
    )
}

/// Whether this build of stm-check is unoptimised (opt-level 0).
pub fn unoptimised() -> bool {
    OPT_LEVEL == "0"
}

/// The one-time advice shown when a long check runs unoptimised.
pub fn unoptimised_hint() -> String {
    "stm-check: this check runs unoptimised (the test profile's opt-level is 0); \
     add `[profile.test] opt-level = 3` to your Cargo.toml (the workspace's) and \
     checks run about 12 times faster (see stm-check's README)"
        .to_string()
}

/// The progress of one check's exploration. Count executions by wrapping
/// the executed closure with [`counting`](CheckProgress::counting); call
/// [`finish`](CheckProgress::finish) when the exploration is over.
///
/// ```
/// use stm_check::progress::CheckProgress;
///
/// // A run this short shows nothing.
/// let progress = CheckProgress::start("my_test", 10, true);
/// let run = progress.counting(|| {});
/// for _ in 0..10 {
///     run();
/// }
/// assert_eq!(progress.executions(), 10);
/// progress.finish();
/// ```
#[derive(Debug)]
pub struct CheckProgress {
    tracker: Option<Arc<Mutex<Tracker>>>,
}

impl CheckProgress {
    /// Starts timing a check of `planned` executions of test `name`.
    /// Nothing is ever shown if `enabled` is false or [`PROGRESS_ENV`] says
    /// so (executions are still counted).
    pub fn start(name: &str, planned: usize, enabled: bool) -> Self {
        let enabled = enabled && enabled_by_env(std::env::var(PROGRESS_ENV).ok().as_deref());
        let stderr = std::io::stderr();
        let display = if !enabled {
            Output::Off
        } else if stderr.is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb") {
            Output::Bar
        } else {
            Output::Lines
        };
        let tracker = Tracker::new(name, planned, display, unoptimised(), Box::new(stderr));
        CheckProgress {
            tracker: Some(Arc::new(Mutex::new(tracker))),
        }
    }

    /// `run`, counting each call as one execution (and updating the
    /// display).
    pub fn counting<F>(&self, run: F) -> impl Fn() + Send + Sync + Clone + 'static
    where
        F: Fn() + Send + Sync + 'static,
    {
        let tracker = self.tracker.clone();
        let run = Arc::new(run);
        move || {
            if let Some(tracker) = &tracker {
                lock(tracker).execution(Instant::now());
            }
            run()
        }
    }

    /// Executions counted so far.
    pub fn executions(&self) -> usize {
        self.tracker.as_ref().map_or(0, |t| lock(t).done)
    }

    /// Ends the display: clears the bar and, if anything was shown, writes
    /// how many executions ran and for how long.
    pub fn finish(self) {
        if let Some(tracker) = &self.tracker {
            lock(tracker).finish(Instant::now());
        }
    }
}

fn lock(tracker: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    tracker.lock().unwrap_or_else(|p| p.into_inner())
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Not at all.
    Off,
    /// An indicatif bar on stderr (a terminal).
    Bar,
    /// A line on stderr every [`LINE_EVERY`].
    Lines,
}

/// Every bar of the process, so that checks running in parallel (tests run
/// on several threads) draw one below the other instead of over each other.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// The state behind a [`CheckProgress`]; time is passed in, so that its
/// decisions can be tested without waiting.
struct Tracker {
    name: String,
    planned: usize,
    display: Output,
    unoptimised: bool,
    out: Box<dyn Write + Send>,
    started: Instant,
    done: usize,
    /// Whether anything was shown (the run has passed [`SHOW_AFTER`]).
    shown: bool,
    last_line: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("name", &self.name)
            .field("planned", &self.planned)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Tracker {
    fn new(
        name: &str,
        planned: usize,
        display: Output,
        unoptimised: bool,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Tracker {
            name: name.to_string(),
            planned,
            display,
            unoptimised,
            out,
            started: Instant::now(),
            done: 0,
            shown: false,
            last_line: None,
            bar: None,
        }
    }

    /// One more execution starts at `now`.
    fn execution(&mut self, now: Instant) {
        self.done += 1;
        if self.display == Output::Off || now.duration_since(self.started) < SHOW_AFTER {
            return;
        }
        if !self.shown {
            self.shown = true;
            if self.unoptimised && !HINTED.swap(true, Ordering::Relaxed) {
                let _ = writeln!(self.out, "{}", unoptimised_hint());
            }
        }
        match self.display {
            Output::Off => {}
            Output::Bar => {
                let bar = self
                    .bar
                    .get_or_insert_with(|| new_bar(&self.name, self.planned));
                bar.set_position(self.done as u64);
            }
            Output::Lines => {
                if self
                    .last_line
                    .is_none_or(|last| now.duration_since(last) >= LINE_EVERY)
                {
                    self.last_line = Some(now);
                    let line = self.line(now);
                    let _ = writeln!(self.out, "{line}");
                }
            }
        }
    }

    /// `stm-check: NAME: DONE/PLANNED executions (RATE/s, about S s left)`.
    fn line(&self, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let rate = self.done as f64 / elapsed.max(1e-9);
        let left = self.planned.saturating_sub(self.done) as f64 / rate.max(1e-9);
        format!(
            "stm-check: {}: {}/{} executions ({:.0}/s, about {:.0} s left)",
            self.name, self.done, self.planned, rate, left
        )
    }

    fn finish(&mut self, now: Instant) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            bars().remove(&bar);
        }
        if self.shown {
            self.shown = false;
            let elapsed = now.duration_since(self.started).as_secs_f64();
            let _ = writeln!(
                self.out,
                "stm-check: {}: {} executions in {:.1} s",
                self.name, self.done, elapsed
            );
        }
    }
}

fn new_bar(name: &str, planned: usize) -> ProgressBar {
    let bar = bars().add(ProgressBar::new(planned as u64));
    bar.set_style(
        ProgressStyle::with_template(
            "stm-check: {prefix} {elapsed_precise} [{bar:30}] {pos}/{len} executions ({per_sec}, {eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose output the test can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn tracker(display: Output, unoptimised: bool) -> (Tracker, Captured) {
        let out = Captured::default();
        let tracker = Tracker::new("my_test", 1000, display, unoptimised, Box::new(out.clone()));
        (tracker, out)
    }

    #[test]
    fn a_short_run_shows_nothing() {
        let (mut tracker, out) = tracker(Output::Lines, true);
        let start = tracker.started;
        for i in 0..1000 {
            tracker.execution(start + Duration::from_millis(2 * i));
        }
        tracker.finish(start + Duration::from_secs(2));
        assert_eq!(tracker.done, 1000);
        assert_eq!(out.text(), "");
    }

    #[test]
    fn a_long_run_writes_a_line_every_few_seconds_then_a_summary() {
        let (mut tracker, out) = tracker(Output::Lines, false);
        let start = tracker.started;
        // One execution every 10 ms, for 10 s: lines at 3 s and 8 s.
        for i in 1..=1000u64 {
            tracker.execution(start + Duration::from_millis(10 * i));
        }
        tracker.finish(start + Duration::from_millis(10_005));
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "stm-check: my_test: 300/1000 executions (100/s, about 7 s left)",
                "stm-check: my_test: 800/1000 executions (100/s, about 2 s left)",
                "stm-check: my_test: 1000 executions in 10.0 s",
            ],
            "{text}"
        );
    }

    #[test]
    fn an_unoptimised_long_run_says_once_how_to_make_it_fast() {
        HINTED.store(false, Ordering::Relaxed);
        let (mut first, out) = tracker(Output::Lines, true);
        let (mut second, out2) = tracker(Output::Lines, true);
        for tracker in [&mut first, &mut second] {
            let start = tracker.started;
            for i in 1..=10u64 {
                tracker.execution(start + Duration::from_secs(i));
            }
        }
        let text = out.text();
        assert!(
            text.starts_with(&unoptimised_hint()),
            "the hint comes first: {text}"
        );
        assert!(unoptimised_hint().contains("`[profile.test] opt-level = 3`"));
        assert_eq!(text.matches("unoptimised").count(), 1, "{text}");
        assert!(
            !out2.text().contains("unoptimised"),
            "once per process: {}",
            out2.text()
        );
    }

    #[test]
    fn turned_off_it_counts_but_shows_nothing() {
        let (mut tracker, out) = tracker(Output::Off, true);
        let start = tracker.started;
        for i in 1..=100u64 {
            tracker.execution(start + Duration::from_secs(i));
        }
        tracker.finish(start + Duration::from_secs(101));
        assert_eq!(tracker.done, 100);
        assert_eq!(out.text(), "");
    }

    #[test]
    fn the_environment_variable_turns_it_off() {
        for off in ["0", "off", "FALSE", " no "] {
            assert!(!enabled_by_env(Some(off)), "{off}");
        }
        for on in [None, Some("1"), Some("on"), Some("")] {
            assert!(enabled_by_env(on), "{on:?}");
        }
    }

    #[test]
    fn a_disabled_progress_still_counts_executions() {
        let progress = CheckProgress::start("quiet", 3, false);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let run = {
            let calls = calls.clone();
            progress.counting(move || {
                calls.fetch_add(1, Ordering::Relaxed);
            })
        };
        run();
        run.clone()();
        assert_eq!(progress.executions(), 2);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        progress.finish();
    }
}
