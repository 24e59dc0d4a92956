//! Shared test helpers: a tiny deterministic RNG and a naive reference.

#![allow(dead_code)]

use int8_kernels::{PackedMatrix, QuantizedRows, GROUP};

/// xorshift64*: deterministic, no dependencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn i8(&mut self) -> i8 {
        (self.next_u64() >> 56) as u8 as i8
    }
    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Naive dots from the unpacked weights: out[(m * n + c) * groups + g].
pub fn reference_dots(a: &QuantizedRows, w: &[i8], n: usize) -> Vec<i32> {
    let (m, k) = (a.m(), a.k());
    let groups = k / GROUP;
    let mut out = vec![0; m * n * groups];
    for r in 0..m {
        for c in 0..n {
            for g in 0..groups {
                let mut s = 0i32;
                for i in g * GROUP..(g + 1) * GROUP {
                    s += i32::from(a.values()[r * k + i]) * i32::from(w[c * k + i]);
                }
                out[(r * n + c) * groups + g] = s;
            }
        }
    }
    out
}

/// Naive f32 result with the documented operation order.
pub fn reference_matmul(a: &QuantizedRows, w: &[i8], n: usize) -> Vec<f32> {
    let groups = a.k() / GROUP;
    let dots = reference_dots(a, w, n);
    let mut out = vec![0f32; a.m() * n];
    for (i, o) in out.iter_mut().enumerate() {
        let r = i / n;
        let mut acc = 0f32;
        for g in 0..groups {
            acc += dots[i * groups + g] as f32 * a.scales()[r * groups + g];
        }
        *o = acc;
    }
    out
}

/// Packs random weights, returning the packed matrix and the originals.
pub fn random_weights(rng: &mut Rng, n: usize, k: usize) -> (PackedMatrix, Vec<i8>) {
    let w: Vec<i8> = (0..n * k).map(|_| rng.i8()).collect();
    (PackedMatrix::pack(n, k, &w).expect("pack"), w)
}
