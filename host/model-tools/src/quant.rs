//! Weight quantization: symmetric per-output-channel int8, SmoothQuant factors.

/// Round half to even: adding and removing 1.5 * 2^23 rounds in the default
/// nearest-even mode. Valid for |v| < 2^22.
pub fn round_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

/// Quantizes rows of `w` (N x K) to int8 with one scale per row:
/// scale = max|row| / 127, q = round(w / scale) in [-127, 127]. Returns (q, scales).
/// An all-zero row gets scale 0 and zero weights.
pub fn quantize_rows(w: &[f32], k: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len() / k.max(1));
    for row in w.chunks_exact(k) {
        let amax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = amax / 127.0;
        scales.push(scale);
        if scale == 0.0 {
            q.extend(core::iter::repeat_n(0i8, k));
            continue;
        }
        q.extend(
            row.iter()
                .map(|&v| round_even(v / scale).clamp(-127.0, 127.0) as i8),
        );
    }
    (q, scales)
}

/// SmoothQuant migration factors s_j = amax_x[j]^alpha / amax_w[j]^(1 - alpha),
/// where amax_w[j] is the largest |W[n][j]| over the output channels. Channels
/// with no signal keep s = 1. Inputs are divided by s, weight columns multiplied.
pub fn smooth_factors(act_amax: &[f32], w: &[f32], k: usize, alpha: f32) -> Vec<f32> {
    let mut w_amax = vec![0.0f32; k];
    for row in w.chunks_exact(k) {
        for (m, v) in w_amax.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    act_amax
        .iter()
        .zip(&w_amax)
        .map(|(&a, &wm)| {
            if a > 0.0 && wm > 0.0 {
                let s = pow(a, alpha) / pow(wm, 1.0 - alpha);
                s.clamp(1e-4, 1e4)
            } else {
                1.0
            }
        })
        .collect()
}

/// Multiplies column j of `w` (N x K) by `s[j]`.
pub fn scale_columns(w: &mut [f32], s: &[f32]) {
    for row in w.chunks_exact_mut(s.len()) {
        for (v, &f) in row.iter_mut().zip(s) {
            *v *= f;
        }
    }
}

/// x^y for x > 0 via exp(y ln x); ln by f64 series, accurate to 1e-12 (kept
/// rather than std's `powf` so blobs stay byte-identical to earlier builds).
fn pow(x: f32, y: f32) -> f32 {
    let ln = ln_f64(f64::from(x));
    exp_f64(f64::from(y) * ln) as f32
}

fn ln_f64(x: f64) -> f64 {
    // x = m 2^e with m in [1, 2): ln x = e ln2 + 2 atanh((m-1)/(m+1)).
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut term = z;
    let mut sum = 0.0;
    for i in 0..40 {
        sum += term / f64::from(2 * i + 1);
        term *= z2;
    }
    e as f64 * core::f64::consts::LN_2 + 2.0 * sum
}

fn exp_f64(x: f64) -> f64 {
    // e^x = 2^n e^r, |r| <= ln2/2, Taylor series for e^r.
    let n = (x / core::f64::consts::LN_2 + 0.5 * x.signum()) as i64;
    let r = x - n as f64 * core::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..30 {
        term *= r / f64::from(i);
        sum += term;
    }
    let mut p = 1.0f64;
    let (mut b, mut k) = (if n >= 0 { 2.0 } else { 0.5 }, n.unsigned_abs());
    while k > 0 {
        if k & 1 == 1 {
            p *= b;
        }
        b *= b;
        k >>= 1;
    }
    sum * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_matches_std() {
        for (x, y) in [
            (28.8f32, 0.5f32),
            (0.01, 0.5),
            (3.0, 0.25),
            (1.0, 0.5),
            (1e-3, 0.7),
        ] {
            let want = x.powf(y);
            assert!(((pow(x, y) - want) / want).abs() < 1e-6, "{x}^{y}");
        }
    }

    #[test]
    fn rows_round_trip() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (q, s) = quantize_rows(&w, 4);
        assert_eq!(q, [64, -127, 32, 0, 0, 0, 0, 0]);
        assert_eq!(s, [1.0 / 127.0, 0.0]);
    }
}
