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
