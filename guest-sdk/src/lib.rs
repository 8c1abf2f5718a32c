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
//! One boundary crossing per hop (contract `interpose:interceptor@0.5.0`): the headers a
//! method reads with a literal key (`call.header("tenant")`, `call.header_string(...)`) are
//! declared by the attribute and handed to the hook as a parameter; header edits
//! (`set_header`, `remove_header`) are kept in the guest and returned with the decision.
//! A key the attribute cannot see (a variable, a helper function) still works, one
//! crossing per read: declare it next to the method with `#[reads("key")]` (or
//! `#[reads(all)]`) to make it free.
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
    ActivitySchedule, AfterDecision as After, AsyncActivity, AsyncActivityId, CallDetail,
    ChildStart, ContinueAsNewOptions, EditError, Failure, Handler, HeaderAccess, HeaderEdit,
    HeaderReads, Hook, Interest, OutboundCancel, OutboundSignal, Payload, Phases, ScheduleTarget,
    UpdateTarget, VisibilityQuery, WorkflowMessage, WorkflowStart, WorkflowStartWithMessage,
    WorkflowTarget,
};
pub use interpose_guest_macros::interceptor;

use bindings::interpose::interceptor::types::BeforeDecision;
use core::cell::RefCell;

/// What `before_*` decides.
#[derive(Clone, Debug)]
pub enum Before {
    /// Run the rest of the chain with the call, carrying the header edits made through
    /// [`Call::set_header`] and [`Call::remove_header`].
    Proceed,
    /// Fail the call with this failure; the rest of the chain and the real call do not run.
    Reject(Failure),
    /// Answer the call with these payloads without running the rest of the chain (only for
    /// hooks whose result is a payload list; elsewhere the guest fails).
    Respond(Vec<Payload>),
}

/// The headers a hook declared it reads, as the `#[interceptor]` attribute records them.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Reads {
    /// None declared.
    None,
    /// These keys.
    Keys(&'static [&'static str]),
    /// Every header.
    All,
}

impl Reads {
    fn covers(&self, key: &str) -> bool {
        match self {
            Reads::None => false,
            Reads::Keys(keys) => keys.contains(&key),
            Reads::All => true,
        }
    }
}

/// The call being intercepted.
///
/// Declared headers were handed to the hook and are read here without crossing into the
/// host; header edits are recorded here and returned with the decision. The detail, the
/// arguments and undeclared headers are fetched from the host on request (each accessor
/// copies only what it returns).
pub struct Call<'a> {
    inner: &'a bindings::interpose::interceptor::types::Call,
    hook: Hook,
    headers: Vec<(String, Payload)>,
    reads: Reads,
    /// `None` in `after`, where headers cannot be edited.
    access: Option<HeaderAccess>,
    edits: RefCell<Vec<HeaderEdit>>,
}

impl<'a> Call<'a> {
    #[doc(hidden)]
    pub fn __new(
        inner: &'a bindings::interpose::interceptor::types::Call,
        hook: Hook,
        headers: Vec<(String, Payload)>,
        reads: Reads,
        access: Option<HeaderAccess>,
    ) -> Self {
        Call {
            inner,
            hook,
            headers,
            reads,
            access,
            edits: RefCell::new(Vec::new()),
        }
    }

    /// The header edits made so far, taken (for the `proceed` decision).
    #[doc(hidden)]
    pub fn __take_edits(&self) -> Vec<HeaderEdit> {
        core::mem::take(&mut *self.edits.borrow_mut())
    }

    /// Record an edit without the guest-side checks (for the test suite's fuzzer, which
    /// sends the host edits it must refuse).
    #[doc(hidden)]
    pub fn __force_edit(&self, edit: HeaderEdit) {
        self.edits.borrow_mut().push(edit);
    }

    /// The raw resource (for the test suite's fuzzer, which misuses handles on purpose).
    #[doc(hidden)]
    pub fn __raw(&self) -> &'a bindings::interpose::interceptor::types::Call {
        self.inner
    }

    /// Which hook this is.
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// The typed detail of the call.
    pub fn detail(&self) -> CallDetail {
        self.inner.detail()
    }

    /// Replace the editable fields of the detail (ids, task queues, timer duration).
    pub fn set_detail(&self, detail: CallDetail) -> Result<(), EditError> {
        self.inner.set_detail(&detail)
    }

    /// One header, as this hook sees it (with its own edits applied). Free for a declared
    /// key; one crossing into the host otherwise.
    pub fn header(&self, key: &str) -> Option<Payload> {
        if let Some(edit) = self
            .edits
            .borrow()
            .iter()
            .rev()
            .find(|e| edit_key(e) == key)
        {
            return match edit {
                HeaderEdit::Set((_, v)) => Some(v.clone()),
                HeaderEdit::Remove(_) => None,
            };
        }
        if self.reads.covers(key) {
            return self
                .headers
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| self.headers[i].1.clone());
        }
        self.inner.header(key)
    }

    /// One header decoded as a JSON string (Temporal's default encoding for strings).
    pub fn header_string(&self, key: &str) -> Option<String> {
        self.header(key).and_then(|p| p.as_json_string())
    }

    /// Names of all headers, with this hook's edits applied (one crossing into the host).
    pub fn header_keys(&self) -> Vec<String> {
        let mut keys = self.inner.header_keys();
        for edit in self.edits.borrow().iter() {
            match edit {
                HeaderEdit::Set((k, _)) => {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
                HeaderEdit::Remove(k) => keys.retain(|x| x != k),
            }
        }
        keys.sort();
        keys
    }

    fn header_edit_allowed(&self) -> Result<(), EditError> {
        match self.access {
            None => Err(EditError::NotSupported(
                "headers can only be edited in `before`".into(),
            )),
            Some(HeaderAccess::Editable) => Ok(()),
            Some(HeaderAccess::ReadOnly) => Err(EditError::ReadOnly),
            Some(HeaderAccess::Absent) => Err(EditError::NotSupported(alloc::format!(
                "hook `{}` carries no Temporal headers",
                hook_name(self.hook)
            ))),
        }
    }

    /// Add or replace a header. Recorded here and applied by the host when the hook returns
    /// [`Before::Proceed`] (and only then).
    pub fn set_header(&self, key: &str, value: Payload) -> Result<(), EditError> {
        self.header_edit_allowed()?;
        self.edits
            .borrow_mut()
            .push(HeaderEdit::Set((key.to_string(), value)));
        Ok(())
    }

    /// Remove a header; returns whether it was present. Applied like [`Call::set_header`].
    pub fn remove_header(&self, key: &str) -> Result<bool, EditError> {
        self.header_edit_allowed()?;
        let present = self.header(key).is_some();
        self.edits
            .borrow_mut()
            .push(HeaderEdit::Remove(key.to_string()));
        Ok(present)
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

fn edit_key(e: &HeaderEdit) -> &str {
    match e {
        HeaderEdit::Set((k, _)) | HeaderEdit::Remove(k) => k,
    }
}

/// How the call ended (seen in `after_*`). Success and failure were handed to the hook;
/// the result payloads are fetched from the host on request.
pub struct Outcome<'a> {
    inner: &'a bindings::interpose::interceptor::types::Outcome,
    failure: Option<Failure>,
}

impl<'a> Outcome<'a> {
    #[doc(hidden)]
    pub fn __new(
        inner: &'a bindings::interpose::interceptor::types::Outcome,
        failure: Option<Failure>,
    ) -> Self {
        Outcome { inner, failure }
    }

    /// True on success.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// The result payloads (empty on failure or where the result is not a payload list):
    /// one crossing into the host.
    pub fn payloads(&self) -> Vec<Payload> {
        self.inner.payloads()
    }

    /// The failure, if the call failed.
    pub fn failure(&self) -> Option<Failure> {
        self.failure.clone()
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
            fn __interests_from_the_interceptor_attribute() -> &'static [(Hook, u8, Reads)];
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

/// OpenTelemetry spans, exported through the host application's tracer provider, carried
/// between processes and SDKs in the `_tracer-data` header ([`tracing::Span::inject`]). In
/// workflow hooks span times are workflow time and ids are identical in replay; a span is
/// exported when it is ended live.
pub mod tracing {
    pub use crate::bindings::interpose::interceptor::tracing::{
        Span, SpanKind, Status, is_valid_parent,
    };

    /// The header Temporal's tracing interceptors carry a span's context in.
    pub const HEADER: &str = "_tracer-data";

    /// The Nexus header key Temporal's tracing interceptors carry a span's context in: Nexus
    /// headers are strings, so the W3C fields go there as they are, not in [`HEADER`].
    pub const TRACEPARENT: &str = "traceparent";

    /// The span's W3C trace parent (`00-<trace>-<span>-<flags>`), the value of a Nexus
    /// operation's [`TRACEPARENT`] header.
    pub fn traceparent(span: &Span) -> alloc::string::String {
        // The host's carrier is `{"traceparent":"<value>"}`.
        let carrier = span.inject();
        core::str::from_utf8(&carrier.data)
            .ok()
            .and_then(|t| t.split('"').nth(3))
            .unwrap_or_default()
            .into()
    }
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
            .filter(|(h, _, _)| category_of(*h) == category)
            // Bit 1 is `before` and bit 2 is `after`, in WIT flag order.
            .map(|&(hook, bits, reads)| Interest {
                hook,
                phases: Phases::from_bits_retain(bits & 0b11),
                reads: match reads {
                    Reads::None => HeaderReads::None,
                    Reads::Keys(k) => HeaderReads::Keys(k.iter().map(|k| k.to_string()).collect()),
                    Reads::All => HeaderReads::All,
                },
            })
            .collect()
    }

    /// What the attribute declared `hook` reads.
    pub fn reads<T: Interceptor>(hook: Hook) -> Reads {
        T::__interests_from_the_interceptor_attribute()
            .iter()
            .find(|(h, _, _)| *h == hook)
            .map_or(Reads::None, |(_, _, r)| *r)
    }

    pub fn before<T: Interceptor>(
        t: &mut T,
        hook: Hook,
        raw: &bindings::interpose::interceptor::types::Call,
        headers: Vec<(String, Payload)>,
        access: HeaderAccess,
    ) -> BeforeDecision {
        let call = Call::__new(raw, hook, headers, reads::<T>(hook), Some(access));
        match crate::__dispatch_before(t, &call) {
            Before::Proceed => BeforeDecision::Proceed(call.__take_edits()),
            Before::Reject(f) => BeforeDecision::Reject(f),
            Before::Respond(p) => BeforeDecision::Respond(p),
        }
    }

    pub fn after<T: Interceptor>(
        t: &mut T,
        hook: Hook,
        raw: &bindings::interpose::interceptor::types::Call,
        headers: Vec<(String, Payload)>,
        failure: Option<Failure>,
        outcome: &bindings::interpose::interceptor::types::Outcome,
    ) -> After {
        let call = Call::__new(raw, hook, headers, reads::<T>(hook), None);
        crate::__dispatch_after(t, &call, &Outcome::__new(outcome, failure))
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
                        fn before(
                            hook: __t::Hook,
                            call: &__t::Call,
                            headers: Vec<(String, __t::Payload)>,
                            access: __t::HeaderAccess,
                        ) -> __t::BeforeDecision {
                            $crate::__private::with_state(&__STATE, |s: &mut $ty| {
                                $crate::__private::before(s, hook, call, headers, access)
                            })
                        }
                        fn after(
                            hook: __t::Hook,
                            call: &__t::Call,
                            headers: Vec<(String, __t::Payload)>,
                            failure: Option<__t::Failure>,
                            outcome: &__t::Outcome,
                        ) -> __t::AfterDecision {
                            $crate::__private::with_state(&__STATE, |s: &mut $ty| {
                                $crate::__private::after(s, hook, call, headers, failure, outcome)
                            })
                        }
                    }
                };
            }
            __category!(client, "client");
            __category!(workflow_inbound, "workflow-inbound");
            __category!(workflow_outbound, "workflow-outbound");
            __category!(activity_inbound, "activity-inbound");
            __category!(activity_outbound, "activity-outbound");

    $crate::bindings::__export_bindings!(__InterposeGuest with_types_in $crate::bindings);
        };
    };
}
