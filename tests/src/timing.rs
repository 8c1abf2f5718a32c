//! Timing helpers for the measurement examples (`measure`, `bench`): medians, because this
//! machine is noisy.

use std::time::{Duration, Instant};

/// The median of `v` (the upper one for an even count).
pub fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    v[v.len() / 2]
}

/// Median over `rounds` of the mean time per iteration of `f`, after a warm-up of a tenth
/// of `iters`.
pub fn time(rounds: usize, iters: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters / 10 {
        f();
    }
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..iters {
                    f();
                }
                t.elapsed() / iters
            })
            .collect(),
    )
}
