//! Deterministic transport splits for the whole-session property tests
//! (`e2e_client_server`, `e2e_shutdown_props`): a seed from proptest, then xorshift.
#![allow(dead_code)]

/// Deterministic split points.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The length of the next piece of `len` octets: 1 to `max`.
    pub fn piece(&mut self, len: usize, max: usize) -> usize {
        1 + (self.next() as usize) % len.min(max).max(1)
    }
}
