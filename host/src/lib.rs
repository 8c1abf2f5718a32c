//! # Interpose
//!
//! Interceptors for Temporal applications, written as WebAssembly components and run in a
//! sandbox: fuel per call, memory caps, deadlines, and no ambient clock, randomness, files,
//! network or environment.
//!
//! The crate is laid out as the data flows:
//!
//! - [`model`]: hooks and their properties, calls, outcomes, payloads — the WIT types every
//!   other room speaks; it depends on nothing else in the crate;
//! - [`error`]: typed errors at the public boundary;
//! - [`config`]: `interpose.toml`, parsed and validated;
//! - [`services`]: what the embedding provides to guests (metrics and log sinks, workflow
//!   and activity contexts);
//! - [`runtime`]: the sandboxed component runtime (engine, compile cache, validation,
//!   limits, virtual WASI, host imports) that loads one guest; it never names the chain;
//! - [`chain`]: loads a config's guests through the runtime and runs a hook through them;
//! - [`temporal`]: the adapters to the Temporal Rust SDK (client, workflow, activity).
//!
//! ```no_run
//! use interpose::chain::{Call, CallDetail, Outcome, Payload, WorkflowStart};
//! use interpose::services::Scope;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = interpose::config::Config::from_file("interpose.toml")?;
//! let runtime = interpose::runtime::Runtime::builder().for_config(&config).build()?;
//! let chain = interpose::Chain::load(&runtime, &config, Vec::new())?;
//!
//! let mut call = Call::new(
//!     CallDetail::StartWorkflow(WorkflowStart {
//!         workflow_id: "order-1".into(),
//!         workflow_type: "Order".into(),
//!         task_queue: "orders".into(),
//!     }),
//!     Some(vec![Payload::json(r#"{"sku":42}"#)]),
//! );
//! let outcome = chain.session(Scope::Client).run(&mut call, |_call| Outcome::Ok(vec![]))?;
//! assert!(outcome.is_ok());
//! # Ok(()) }
//! ```

pub mod chain;
pub mod config;
#[cfg(feature = "dev-server")]
pub mod devserver;
pub mod error;
pub mod model;
#[cfg(feature = "otel")]
pub mod otel;
pub mod runtime;
pub mod services;
pub mod temporal;

pub use chain::{Chain, Session};
pub use error::{Error, GuestError, GuestFailure};
pub use runtime::Runtime;
