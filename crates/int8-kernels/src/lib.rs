//! int8 matrix kernels. The only crate of the engine with `unsafe` (SIMD intrinsics).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
