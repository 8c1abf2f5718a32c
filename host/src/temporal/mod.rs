//! Temporal adapters: the chain plugged into the Temporal Rust SDK's interceptor traits.
//!
//! - [`client`]: every client operation (`ClientInterceptor`);
//! - [`activity`]: every activity attempt (`ActivityInboundInterceptor`).

pub mod activity;
pub mod client;
mod convert;

pub use activity::WasmActivityInterceptor;
pub use client::WasmClientInterceptor;
