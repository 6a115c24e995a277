//! Sampling that depends only on the request's seed and the tokens so far.
//!
//! mistralrs draws every sampled token from one engine-wide random generator seeded
//! once at start-up, so a sample depends on every request served before it (and a
//! cache hit that skips a request would change later samples). flowc needs "sample
//! `i` of a consensus node uses seed `first_seed + i`" to mean the same thing in every
//! run. So for temperature > 0 the engine is run greedy, and this logits processor
//! does the sampling: it draws the token from a generator seeded by
//! `(seed, tokens so far)` and leaves only that token possible, which the greedy
//! engine then takes. Under a grammar constraint the engine re-runs the processors on
//! the masked logits when a draw is not allowed, so draws stay within the grammar.

/// The settings of a seeded draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeededSampling {
    pub seed: u64,
    pub temperature: f64,
    pub top_k: Option<u32>,
    pub top_p: Option<f64>,
}

impl SeededSampling {
    /// The index of the token to emit, from the logits and the context.
    pub fn choose(&self, logits: &[f32], context: &[u32]) -> usize {
        let mut candidates: Vec<(usize, f64)> = logits
            .iter()
            .enumerate()
            .filter(|(_, logit)| logit.is_finite())
            .map(|(index, logit)| (index, f64::from(*logit) / self.temperature.max(1e-6)))
            .collect();
        if candidates.is_empty() {
            return 0;
        }
        // Highest first; ties by index, so the order is total and fixed (and an
        // unstable sort, quicker over a 49k-token vocabulary, gives the same order).
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some(top_k) = self.top_k.filter(|k| *k > 0) {
            candidates.truncate(top_k as usize);
        }
        let maximum = candidates[0].1;
        let mut weights: Vec<f64> = candidates.iter().map(|(_, logit)| (logit - maximum).exp()).collect();
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|weight| *weight /= total);
        if let Some(top_p) = self.top_p.filter(|p| *p < 1.0) {
            let mut cumulative = 0.0;
            let keep = weights.iter().position(|weight| {
                cumulative += weight;
                cumulative >= top_p
            });
            let keep = keep.map(|position| position + 1).unwrap_or(weights.len());
            candidates.truncate(keep);
            weights.truncate(keep);
            let total: f64 = weights.iter().sum();
            weights.iter_mut().for_each(|weight| *weight /= total);
        }
        let mut draw = unit_interval(self.seed, context);
        for (position, weight) in weights.iter().enumerate() {
            if draw < *weight {
                return candidates[position].0;
            }
            draw -= weight;
        }
        candidates[candidates.len() - 1].0
    }

    /// The logits with every token but the chosen one made impossible.
    pub fn force(&self, logits: &[f32], context: &[u32]) -> Vec<f32> {
        let chosen = self.choose(logits, context);
        let mut forced = vec![f32::NEG_INFINITY; logits.len()];
        if let Some(slot) = forced.get_mut(chosen) {
            *slot = 0.0;
        }
        forced
    }
}

/// A number in [0, 1) from the seed and the context, by SplitMix64 over an FNV-1a
/// hash of the tokens: cheap, and identical on every platform.
fn unit_interval(seed: u64, context: &[u32]) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for token in context {
        for byte in token.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut state = seed ^ hash;
    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut mixed = state;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_only_on_seed_and_context() {
        let logits = [1.0f32, 2.0, 0.5, f32::NEG_INFINITY, 1.5];
        let sampling = SeededSampling { seed: 7, temperature: 1.0, top_k: None, top_p: None };
        let first = sampling.choose(&logits, &[1, 2, 3]);
        assert_eq!(first, sampling.choose(&logits, &[1, 2, 3]));
        assert_ne!(first, 3, "an impossible token is never drawn");
        let draws: std::collections::BTreeSet<usize> =
            (0..64).map(|seed| SeededSampling { seed, ..sampling }.choose(&logits, &[1, 2, 3])).collect();
        assert!(draws.len() >= 3, "different seeds explore the distribution: {draws:?}");
        let forced = sampling.force(&logits, &[1, 2, 3]);
        assert_eq!(forced.iter().filter(|logit| logit.is_finite()).count(), 1);
    }

    #[test]
    fn low_temperature_and_top_k_narrow_the_draw() {
        let logits = [1.0f32, 3.0, 0.5];
        for seed in 0..32 {
            let cold = SeededSampling { seed, temperature: 0.01, top_k: None, top_p: None };
            assert_eq!(cold.choose(&logits, &[9]), 1);
            let top_one = SeededSampling { seed, temperature: 1.0, top_k: Some(1), top_p: None };
            assert_eq!(top_one.choose(&logits, &[9]), 1);
        }
    }
}
