//! Progress of long lab analyses: which stage, which pressure, elapsed time
//! and an ETA, through the log (`phasecast analyze` shows `info` messages on
//! the terminal). Messages are throttled so that fast runs stay quiet: a
//! stage is logged at `info` when the analysis has run for more than
//! [`QUIET_S`] seconds, otherwise at `debug`.

use std::time::Instant;

/// Analyses shorter than this log their stages at `debug` only.
pub const QUIET_S: f64 = 2.0;

/// A progress reporter for one measurement.
pub struct Progress {
    what: &'static str,
    start: Instant,
    last: std::cell::Cell<Instant>,
    loop_start: std::cell::Cell<Option<(Instant, usize)>>,
}

impl Progress {
    pub fn new(what: &'static str) -> Self {
        let now = Instant::now();
        Self { what, start: now, last: std::cell::Cell::new(now), loop_start: std::cell::Cell::new(None) }
    }

    fn level(&self) -> log::Level {
        if self.start.elapsed().as_secs_f64() > QUIET_S {
            log::Level::Info
        } else {
            log::Level::Debug
        }
    }

    /// A stage has finished.
    pub fn stage(&self, name: &str) {
        let dt = self.last.get().elapsed().as_secs_f64();
        self.last.set(Instant::now());
        log::log!(self.level(), "{}: {name} done in {dt:.1} s ({:.1} s so far)", self.what, self.start.elapsed().as_secs_f64());
    }

    /// Step `i` of `n` of a loop has finished; logs the ETA of the loop.
    pub fn step(&self, name: &str, i: usize, n: usize, detail: &str) {
        let (t0, i0) = match self.loop_start.get() {
            Some(s) => s,
            None => {
                let s = (self.last.get(), 0);
                self.loop_start.set(Some(s));
                s
            }
        };
        self.last.set(Instant::now());
        let done = i.saturating_sub(i0).max(1) as f64;
        let per = t0.elapsed().as_secs_f64() / done;
        let eta = per * n.saturating_sub(i) as f64;
        log::log!(self.level(), "{}: {name} {i}/{n} ({detail}), {:.1} s so far, ETA {eta:.0} s", self.what, self.start.elapsed().as_secs_f64());
        if i >= n {
            self.loop_start.set(None);
        }
    }

    /// The measurement has finished.
    pub fn done(&self) {
        log::log!(self.level(), "{}: finished in {:.1} s", self.what, self.start.elapsed().as_secs_f64());
    }
}
