//! The deterministic random source of the generator (ChaCha8 seeded from the config), with
//! the few draws the generator needs. Normal variates use the sum of twelve uniforms, so no
//! platform-dependent transcendental function is involved and a seed gives the same bytes
//! everywhere.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded random source.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }
    /// A child stream for one part of the output (keeps parts independent of each other).
    pub fn fork(&mut self) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(self.0.random()))
    }
    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..=hi)
        }
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Approximately normal (Irwin–Hall with 12 terms).
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..12).map(|_| self.unit()).sum();
        mean + sd * (s - 6.0)
    }
    /// A right-skewed positive variate around `median` (for enzymes, triglycerides).
    pub fn skewed(&mut self, median: f64, spread: f64) -> f64 {
        let z = self.normal(0.0, 1.0);
        median * (1.0 + spread * z + 0.5 * spread * spread * z * z).max(0.2)
    }
    /// One element of a non-empty slice (the first when empty is impossible by construction).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.0.random_range(0..items.len().max(1));
        &items[i.min(items.len().saturating_sub(1))]
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.0.random_range(0..=i);
            items.swap(i, j);
        }
    }
}
