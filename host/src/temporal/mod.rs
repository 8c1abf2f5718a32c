//! Temporal adapters: the chain plugged into the Temporal Rust SDK's interceptor traits.
//!
//! - [`client`]: every client operation (`ClientInterceptor`).

pub mod client;
mod convert;

pub use client::WasmClientInterceptor;
