//! L2 normalisation of the pooled embedding (1/sqrt by Newton iteration in
//! f64: `int8_kernels::inv_sqrt_f64`). The float helpers of the reference
//! model (exp, GELU, LayerNorm) are host-only, in host/model-tools.

use int8_kernels::inv_sqrt_f64;

/// Scales `v` to unit L2 norm (left as is when it is all zeros).
pub fn l2_normalize(v: &mut [f32]) {
    let ss: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if ss > 0.0 {
        let inv = inv_sqrt_f64(ss) as f32;
        for x in v.iter_mut() {
            *x *= inv;
        }
    }
}
