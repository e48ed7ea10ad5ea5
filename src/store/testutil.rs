//! Fixtures shared by the store's unit tests: fake vectors that are distinct yet
//! deterministic, so a failing test fails the same way every run.

/// A pseudo-random vector per seed (splitmix64), components in [-1, 1), not normalised.
pub fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..8)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}
