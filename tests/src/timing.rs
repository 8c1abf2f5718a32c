//! Measurement helpers for the `measure` and `bench` examples and the soak: medians (this
//! machine is noisy) and resident memory.

use std::time::{Duration, Instant};

/// The median of `v` (the upper one for an even count).
pub fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    v[v.len() / 2]
}

/// Median over `rounds` of the mean time per iteration of `f`, after a warm-up of a tenth
/// of `iters`.
pub fn time(rounds: usize, iters: u32, f: impl FnMut()) -> Duration {
    median(per_round(rounds, iters, f))
}

/// The mean time per iteration of `f` in each of `rounds` rounds, after a warm-up of a
/// tenth of `iters`.
pub fn per_round(rounds: usize, iters: u32, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..iters / 10 {
        f();
    }
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters
        })
        .collect()
}

/// The least, the median and the greatest of a figure over its rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread<T> {
    /// The least.
    pub min: T,
    /// The median (the upper one for an even count).
    pub median: T,
    /// The greatest.
    pub max: T,
}

impl<T: PartialOrd + Copy> Spread<T> {
    /// The spread of `v` (not empty).
    pub fn of(mut v: Vec<T>) -> Spread<T> {
        v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
        Spread {
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
        }
    }

    /// Each of the three through `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Spread<U> {
        Spread {
            min: f(self.min),
            median: f(self.median),
            max: f(self.max),
        }
    }
}

/// Resident memory of this process, in bytes (`/proc/self/statm`).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}
