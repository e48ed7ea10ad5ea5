//! Vector arithmetic on embeddings: dot products, norms, cosine similarity, unit length
//! and means. One implementation for the whole crate, written as eight independent lanes
//! that the compiler keeps in SIMD registers: a plain `sum()` must add in order and ran
//! about 4× slower at 384 dimensions.

const LANES: usize = 8;

/// `Σ aᵢ·bᵢ` over the shorter of the two.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    let mut sums = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
}

/// Euclidean length.
pub fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

/// Cosine similarity; 0 when either vector is zero (as usearch's cosine distance of 1).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        return 0.0;
    }
    dot(a, b) / denominator
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = norm(v).max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// The unit-length direction of the sum of `vectors` (the mean, once normalised), each
/// `dims` long.
pub fn mean_direction<'a>(vectors: impl IntoIterator<Item = &'a [f32]>, dims: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; dims];
    for vector in vectors {
        for (s, x) in sum.iter_mut().zip(vector) {
            *s += x;
        }
    }
    normalize(&mut sum);
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_for_every_tail_length() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(
                (dot(&a, &b) - plain).abs() <= 1e-4 * plain.abs().max(1.0),
                "{n}"
            );
        }
    }

    #[test]
    fn cosine_ignores_length_and_is_zero_for_zero() {
        let a = [3.0, 4.0, 0.0];
        let b = [6.0, 8.0, 0.0];
        assert!((cosine(&a, &b) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&a, &[0.0; 3]), 0.0);
        assert!((cosine(&[1.0, 0.0], &[0.0, 1.0])).abs() < 1e-6);
    }

    #[test]
    fn normalised_vectors_have_unit_length() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }

    #[test]
    fn the_mean_direction_weighs_raw_vectors() {
        let a = [3.0, 0.0];
        let b = [0.0, 1.0];
        let mean = mean_direction([&a[..], &b[..]], 2);
        let norm = 10f32.sqrt();
        assert!((mean[0] - 3.0 / norm).abs() < 1e-6 && (mean[1] - 1.0 / norm).abs() < 1e-6);
    }
}
