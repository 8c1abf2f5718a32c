//! # interpose-guest
//!
//! Write an [Interpose](https://example.invalid/interpose) interceptor in Rust: implement
//! only the hooks you need; every other hook passes through, and the host never calls your
//! guest for it (its interests are derived from the methods you write).
//!
//! ```ignore
//! use interpose_guest::{Before, Call, Interceptor, Payload, interceptor};
//!
//! #[derive(Default)]
//! struct AddTenant;
//!
//! #[interceptor]
//! impl Interceptor for AddTenant {
//!     fn before_start_workflow(&mut self, call: &Call) -> Before {
//!         let _ = call.set_header("tenant", Payload::json_string("acme"));
//!         Before::Proceed
//!     }
//! }
//!
//! interpose_guest::export!(AddTenant);
//! ```
//!
//! Build for `wasm32-unknown-unknown` and turn the module into a component (the workspace
//! build does both; see the README): the result imports nothing but Interpose's host
//! interfaces.
//!
//! Hooks come in pairs: `before_<hook>` runs before the call and may edit it, reject it, or
//! (where allowed) answer it; `after_<hook>` sees the outcome and may replace it. The same
//! instance sees the `before` and the `after` of one call, so `self` can carry state between
//! them; in workflow hooks, `self` lives for the whole workflow run.

#![no_std]
extern crate alloc;
extern crate std;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "interceptor",
        pub_export_macro: true,
        default_bindings_module: "::interpose_guest::bindings",
        export_macro_name: "__export_bindings",
    });
}

mod json;

pub use bindings::interpose::interceptor::types::{
    ActivitySchedule, AfterDecision as After, AsyncActivity, AsyncActivityId,
    BeforeDecision as Before, CallDetail, ChildStart, ContinueAsNewOptions, EditError, Failure,
    Handler, Hook, Interest, OutboundCancel, OutboundSignal, Payload, Phases, ScheduleTarget,
    UpdateTarget, VisibilityQuery, WorkflowMessage, WorkflowStart, WorkflowStartWithMessage,
    WorkflowTarget,
};
pub use interpose_guest_macros::interceptor;

/// The call being intercepted. Every accessor copies only what it returns.
pub struct Call<'a> {
    inner: &'a bindings::interpose::interceptor::types::Call,
}

impl<'a> Call<'a> {
    #[doc(hidden)]
    pub fn __new(inner: &'a bindings::interpose::interceptor::types::Call) -> Self {
        Call { inner }
    }

    /// The raw resource (for the test suite's fuzzer, which misuses handles on purpose).
    #[doc(hidden)]
    pub fn __raw(&self) -> &'a bindings::interpose::interceptor::types::Call {
        self.inner
    }

    /// Which hook this is.
    pub fn hook(&self) -> Hook {
        self.inner.hook()
    }

    /// The typed detail of the call.
    pub fn detail(&self) -> CallDetail {
        self.inner.detail()
    }

    /// Replace the editable fields of the detail (ids, task queues, timer duration).
    pub fn set_detail(&self, detail: CallDetail) -> Result<(), EditError> {
        self.inner.set_detail(&detail)
    }

    /// One header.
    pub fn header(&self, key: &str) -> Option<Payload> {
        self.inner.header(key)
    }

    /// One header decoded as a JSON string (Temporal's default encoding for strings).
    pub fn header_string(&self, key: &str) -> Option<String> {
        self.inner.header(key).and_then(|p| p.as_json_string())
    }

    /// Names of all headers.
    pub fn header_keys(&self) -> Vec<String> {
        self.inner.header_keys()
    }

    /// Add or replace a header.
    pub fn set_header(&self, key: &str, value: Payload) -> Result<(), EditError> {
        self.inner.set_header(key, &value)
    }

    /// Remove a header; returns whether it was present.
    pub fn remove_header(&self, key: &str) -> Result<bool, EditError> {
        self.inner.remove_header(key)
    }

    /// Number of arguments.
    pub fn arg_count(&self) -> u32 {
        self.inner.arg_count()
    }

    /// One argument.
    pub fn arg(&self, index: u32) -> Option<Payload> {
        self.inner.arg(index)
    }

    /// All arguments.
    pub fn args(&self) -> Vec<Payload> {
        self.inner.args()
    }

    /// Replace all arguments.
    pub fn set_args(&self, args: Vec<Payload>) -> Result<(), EditError> {
        self.inner.set_args(&args)
    }
}

/// How the call ended (seen in `after_*`).
pub struct Outcome<'a> {
    inner: &'a bindings::interpose::interceptor::types::Outcome,
}

impl<'a> Outcome<'a> {
    #[doc(hidden)]
    pub fn __new(inner: &'a bindings::interpose::interceptor::types::Outcome) -> Self {
        Outcome { inner }
    }

    /// True on success.
    pub fn is_ok(&self) -> bool {
        self.inner.is_ok()
    }

    /// The result payloads (empty on failure or where the result is not a payload list).
    pub fn payloads(&self) -> Vec<Payload> {
        self.inner.payloads()
    }

    /// The failure, if the call failed.
    pub fn failure(&self) -> Option<Failure> {
        self.inner.failure()
    }
}

impl Payload {
    /// A `json/plain` payload holding a JSON string, as Temporal's default converter
    /// encodes a string.
    pub fn json_string(s: &str) -> Payload {
        Payload::json(json::quote(s).into_bytes())
    }

    /// A `json/plain` payload holding raw JSON text.
    pub fn json(data: Vec<u8>) -> Payload {
        Payload {
            metadata: alloc::vec![("encoding".into(), b"json/plain".to_vec())],
            data,
        }
    }

    /// The payload decoded as a JSON string, if it is one.
    pub fn as_json_string(&self) -> Option<String> {
        json::unquote(core::str::from_utf8(&self.data).ok()?)
    }
}

impl Failure {
    /// A retryable failure with a message.
    pub fn new(message: impl ToString) -> Failure {
        Failure {
            message: message.to_string(),
            error_type: String::new(),
            non_retryable: false,
            details: Vec::new(),
        }
    }

    /// Builder: set the application error type.
    pub fn with_type(mut self, error_type: impl ToString) -> Failure {
        self.error_type = error_type.to_string();
        self
    }

    /// Builder: mark non-retryable.
    pub fn non_retryable(mut self) -> Failure {
        self.non_retryable = true;
        self
    }
}

macro_rules! interceptor_trait {
    ($( $cat:literal, $before_cat:ident, $after_cat:ident: [$( ($before:ident, $after:ident, $variant:ident) ),* $(,)?] ),* $(,)?) => {
        /// An interceptor. Implement the hooks you need inside an impl block marked
        /// [`#[interceptor]`](macro@interceptor); the rest pass through.
        ///
        /// `before_<category>` / `after_<category>` methods handle every hook of a category
        /// (and declare interest in all of them); a per-hook method takes precedence.
        pub trait Interceptor: Default + 'static {
            $(
                #[doc = concat!("Runs before every `", $cat, "` hook that has no method of its own.")]
                fn $before_cat(&mut self, call: &Call) -> Before { let _ = call; Before::Proceed }
                #[doc = concat!("Runs after every `", $cat, "` hook that has no method of its own.")]
                fn $after_cat(&mut self, call: &Call, outcome: &Outcome) -> After {
                    let _ = (call, outcome);
                    After::Keep
                }
                $(
                    #[doc = concat!("Runs before `", stringify!($variant), "`.")]
                    fn $before(&mut self, call: &Call) -> Before { self.$before_cat(call) }
                    #[doc = concat!("Runs after `", stringify!($variant), "`.")]
                    fn $after(&mut self, call: &Call, outcome: &Outcome) -> After {
                        self.$after_cat(call, outcome)
                    }
                )*
            )*

            /// Generated by [`#[interceptor]`](macro@interceptor): put the attribute on your
            /// `impl Interceptor` block.
            #[doc(hidden)]
            fn __interests_from_the_interceptor_attribute() -> &'static [(Hook, u8)];
        }

        #[doc(hidden)]
        pub fn __dispatch_before<T: Interceptor>(t: &mut T, call: &Call) -> Before {
            match call.hook() { $( $( Hook::$variant => t.$before(call), )* )* }
        }

        #[doc(hidden)]
        pub fn __dispatch_after<T: Interceptor>(t: &mut T, call: &Call, outcome: &Outcome) -> After {
            match call.hook() { $( $( Hook::$variant => t.$after(call, outcome), )* )* }
        }
    };
}

// The trait's per-hook methods, `hook_name` and `category_of`, generated from
// `wit/types.wit` (interpose-guest-macros' build script, interpose-catalogue).
interpose_guest_macros::__catalogue!();

/// Logging into the host (`tracing`); dropped while a workflow replays.
pub mod log {
    pub use crate::bindings::interpose::interceptor::log::{Level, enabled, log};

    /// Log at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Log at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Log at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
    /// Log at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
}

/// Metrics into the host's sink; dropped while a workflow replays.
pub mod metrics {
    pub use crate::bindings::interpose::interceptor::metrics::{
        counter_add, gauge_set, histogram_record,
    };
}

/// This guest's values from `[guest.config]` in `interpose.toml`.
pub mod config {
    pub use crate::bindings::interpose::interceptor::config::{get, get_all};
}

/// The workflow run (workflow hooks only).
pub mod workflow {
    pub use crate::bindings::interpose::interceptor::workflow_context::{
        WorkflowInfo, info, is_read_only, is_replaying, now, random_u64,
    };
}

/// The activity attempt (activity hooks only).
pub mod activity {
    pub use crate::bindings::interpose::interceptor::activity_context::{
        ActivityInfo, heartbeat, info, now,
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;
    use core::cell::RefCell;

    std::thread_local! {
        static PANIC_HOOK: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Route panic messages to the host log so that a trap names its cause.
    pub fn init() {
        PANIC_HOOK.with(|set| {
            if !set.get() {
                set.set(true);
                std::panic::set_hook(alloc::boxed::Box::new(|info| {
                    crate::log::error(&alloc::format!("guest panicked: {info}"));
                }));
            }
        });
    }

    pub fn interests<T: Interceptor>(category: &str) -> Vec<Interest> {
        init();
        T::__interests_from_the_interceptor_attribute()
            .iter()
            .filter(|(h, _)| category_of(*h) == category)
            // Bit 1 is `before` and bit 2 is `after`, in WIT flag order.
            .map(|&(hook, bits)| Interest {
                hook,
                phases: Phases::from_bits_retain(bits & 0b11),
            })
            .collect()
    }

    pub fn with_state<T: Interceptor, R>(
        state: &'static std::thread::LocalKey<RefCell<Option<T>>>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        init();
        state.with(|s| {
            let mut s = s.borrow_mut();
            f(s.get_or_insert_with(T::default))
        })
    }
}

/// Export `$ty` (which implements [`Interceptor`] under `#[interceptor]`) as this
/// component's interceptor. Use once per guest crate.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        const _: () = {
            use $crate::bindings::exports::interpose::interceptor as __ex;
            use $crate::bindings::interpose::interceptor::types as __t;

            std::thread_local! {
                static __STATE: ::core::cell::RefCell<Option<$ty>> =
                    const { ::core::cell::RefCell::new(None) };
            }

            struct __InterposeGuest;

            macro_rules! __category {
                ($module:ident, $name:literal) => {
                    impl __ex::$module::Guest for __InterposeGuest {
                        fn interests() -> Vec<__t::Interest> {
                            $crate::__private::interests::<$ty>($name)
                        }
                        fn before(call: &__t::Call) -> __t::BeforeDecision {
                            $crate::__private::with_state(&__STATE, |s: &mut $ty| {
                                $crate::__dispatch_before(s, &$crate::Call::__new(call))
                            })
                        }
                        fn after(call: &__t::Call, outcome: &__t::Outcome) -> __t::AfterDecision {
                            $crate::__private::with_state(&__STATE, |s: &mut $ty| {
                                $crate::__dispatch_after(
                                    s,
                                    &$crate::Call::__new(call),
                                    &$crate::Outcome::__new(outcome),
                                )
                            })
                        }
                    }
                };
            }
            __category!(client, "client");
            __category!(workflow_inbound, "workflow-inbound");
            __category!(workflow_outbound, "workflow-outbound");
            __category!(activity_inbound, "activity-inbound");

    $crate::bindings::__export_bindings!(__InterposeGuest with_types_in $crate::bindings);
        };
    };
}
