//! The activity adapter: an [`ActivityInboundInterceptor`] that runs every activity attempt
//! through the chain's `activity-inbound` guests.
//!
//! Guests see the activity's headers (read and write), its info (`activity-context.info`,
//! with scheduled, started and current-attempt-scheduled times) and its result as payloads
//! (serialized with Temporal's default payload converter). `respond` and `replace` return raw
//! payloads as the activity's result; `reject` and `fail` fail the attempt with an
//! application failure (retried unless the guest marked it non-retryable). A guest failure
//! under fail-closed fails the attempt as retryable: the activity resumes once the guest is
//! fixed. Activity arguments are decoded by the SDK before interceptors run, so guests see
//! no arguments.
//!
//! `activity-context.heartbeat` is real: the SDK gives interceptors no heartbeat handle (the
//! `ActivityContext` inside `temporalio_sdk::interceptors::ExecuteActivityInput` is private),
//! but the attempt's task token is public (`ActivityInfo::task_token`), so the adapter
//! records the guest's heartbeat with Temporal's `RecordActivityTaskHeartbeat` through a
//! client ([`WasmActivityInterceptor::heartbeats_through`]), as an async-completion handle
//! would. Guests heartbeat in `before` only (after the body ran, a heartbeat would replace
//! the details the activity recorded), at most 256 KiB of details, and only a call that
//! returns a valid decision counts. The last heartbeat of the `before` phase is sent once,
//! after every guest's `before` succeeded and before the body starts: one RPC per attempt
//! at most, awaited for at most 2 s. Local activities have no heartbeats in Temporal: theirs
//! are dropped.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use temporalio_client::{ActivityIdentifier, Client};
use temporalio_common::ActivityError;
use temporalio_common::data_converters::RawValue;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::interceptors::{
    ActivityExecutionValue, ActivityInboundInterceptor, ExecuteActivityInput,
    ExecuteActivityOutput, ExecuteActivityResult, Next,
};

use super::args::ArgTypes;
use super::convert::{application_failure, boxed_payloads, header_map_in, payload_out, unix_nanos};
use crate::chain::{Before, Call, CallDetail, Chain, Failure, Hook, Outcome, Payload};
use crate::services::{ActivityHost, ActivityInfo, Scope};

/// Runs activity attempts through the chain. Register it with
/// `WorkerOptions::activity_inbound_interceptor`.
#[derive(Clone)]
pub struct WasmActivityInterceptor {
    chain: Chain,
    args: ArgTypes,
    /// Where guest heartbeats go: set by `heartbeats_through`, or later by the plugin once
    /// the client it is registered on exists.
    heartbeats: Arc<OnceLock<Client>>,
}

impl std::fmt::Debug for WasmActivityInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmActivityInterceptor")
            .field("chain", &self.chain)
            .field("heartbeats", &self.heartbeats.get().is_some())
            .finish_non_exhaustive()
    }
}

/// How long the adapter waits for one heartbeat RPC before it lets the attempt go on.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

impl WasmActivityInterceptor {
    /// An interceptor over `chain`. Guest heartbeats are dropped (with a warning) until
    /// [`WasmActivityInterceptor::heartbeats_through`] gives it a client;
    /// [`crate::temporal::Interpose::activity_interceptor`] always does.
    pub fn new(chain: Chain) -> WasmActivityInterceptor {
        WasmActivityInterceptor {
            chain,
            args: ArgTypes::default(),
            heartbeats: Arc::default(),
        }
    }

    /// Record guest heartbeats with Temporal through `client` (its connection and
    /// namespace; its client interceptors are left out, so a heartbeat never runs the
    /// client chain).
    #[must_use]
    pub fn heartbeats_through(mut self, client: &Client) -> Self {
        let mut c = client.clone();
        c.options_mut().client_interceptors.clear();
        self.heartbeats = Arc::new(OnceLock::from(c));
        self
    }

    /// Heartbeats through whatever client `heartbeats` holds when an attempt runs (the
    /// plugin fills it in when its client is created).
    #[cfg(feature = "plugin")]
    pub(crate) fn heartbeats_late(mut self, heartbeats: Arc<OnceLock<Client>>) -> Self {
        self.heartbeats = heartbeats;
        self
    }

    /// Show guests the arguments of the activities whose types `args` knows.
    #[must_use]
    pub fn with_arg_types(mut self, args: ArgTypes) -> Self {
        self.args = args;
        self
    }
}

fn nanos(t: Option<SystemTime>) -> u64 {
    unix_nanos(t).unwrap_or(0)
}

/// The attempt as guests see it.
struct SdkActivity {
    info: ActivityInfo,
    /// Whether heartbeats can be sent (a client was given and the activity is not local).
    sends: bool,
    /// The last details a guest recorded since the last flush.
    pending: Mutex<Option<Vec<Payload>>>,
    /// Whether the drop of an unsendable heartbeat was logged for this attempt.
    warned: std::sync::atomic::AtomicBool,
}

impl ActivityHost for SdkActivity {
    fn info(&self) -> ActivityInfo {
        self.info.clone()
    }

    fn heartbeat(&self, details: Vec<Payload>) {
        if self.sends {
            *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(details);
        } else if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                activity = %self.info.activity_type,
                "guest heartbeats of this attempt are dropped: {}",
                if self.info.is_local {
                    "local activities have no heartbeats in Temporal"
                } else {
                    "the activity interceptor has no client (see \
                     `WasmActivityInterceptor::heartbeats_through`)"
                }
            );
        }
    }
}

impl SdkActivity {
    /// Send the last heartbeat recorded since the last flush, if any, and wait for it (at
    /// most [`HEARTBEAT_TIMEOUT`]). A failed heartbeat is logged, never fails the attempt:
    /// heartbeats are best effort in every Temporal SDK.
    async fn flush(&self, client: Option<&Client>, token: &[u8]) {
        let Some(details) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let Some(client) = client else { return };
        let handle =
            client.get_async_activity_handle(ActivityIdentifier::TaskToken(token.to_vec().into()));
        let value = RawValue::new(details.into_iter().map(payload_out).collect());
        let sent = tokio::time::timeout(
            HEARTBEAT_TIMEOUT,
            handle.heartbeat(Some(value), Default::default()),
        )
        .await;
        match sent {
            Ok(Ok(r)) if r.cancel_requested => tracing::info!(
                activity = %self.info.activity_type,
                "a guest heartbeat was recorded; the server says the activity is asked to \
                 cancel (the activity learns it from its own heartbeats)"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(
                activity = %self.info.activity_type,
                "a guest heartbeat was not recorded: {e}"
            ),
            Err(_) => tracing::warn!(
                activity = %self.info.activity_type,
                "a guest heartbeat was not recorded within {HEARTBEAT_TIMEOUT:?}"
            ),
        }
    }
}

fn failure_of(e: &ActivityError) -> Failure {
    match e {
        ActivityError::Application(a) => {
            let mut f = Failure::new(a.source_error().to_string());
            f.non_retryable = a.is_non_retryable();
            f.error_type = a.type_name().unwrap_or_default().to_owned();
            f
        }
        other => Failure::new(format!("{other:?}")),
    }
}

fn activity_error(f: &Failure) -> ActivityError {
    ActivityError::Application(Box::new(application_failure(f)))
}

fn raw(payloads: Vec<Payload>) -> Box<dyn ActivityExecutionValue> {
    Box::new(RawValue::new(
        payloads.into_iter().map(payload_out).collect(),
    ))
}

impl ActivityInboundInterceptor for WasmActivityInterceptor {
    fn execute_activity<'a>(
        &'a self,
        mut input: ExecuteActivityInput,
        next: Next<'a, ExecuteActivityInput, ExecuteActivityOutput<'a>>,
    ) -> ExecuteActivityOutput<'a> {
        if !self.chain.wants(Hook::ExecuteActivity) {
            return next.run(input);
        }
        Box::pin(async move {
            let i = input.activity_info();
            let host_type = i.activity_type.clone();
            let host = Arc::new(SdkActivity {
                info: ActivityInfo {
                    activity_id: i.activity_id.clone(),
                    activity_type: i.activity_type.clone(),
                    namespace: i.namespace.clone(),
                    task_queue: i.task_queue.clone(),
                    workflow_id: i.workflow_id.clone().unwrap_or_default(),
                    workflow_run_id: i.workflow_run_id.clone().unwrap_or_default(),
                    workflow_type: i.workflow_type.clone().unwrap_or_default(),
                    attempt: i.attempt,
                    is_local: i.is_local,
                    scheduled_time: nanos(i.scheduled_time),
                    current_attempt_scheduled_time: nanos(i.current_attempt_scheduled_time),
                    started_time: nanos(i.started_time),
                },
                sends: self.heartbeats.get().is_some() && !i.is_local,
                pending: Mutex::new(None),
                warned: false.into(),
            });
            let token = i.task_token.clone();
            let client = self.heartbeats.get();
            let codec = self.args.for_activity(&i.activity_type).cloned();
            let original_args = codec.as_ref().and_then(|c| c.activity_args(&input));
            let mut call = Call::for_operation(CallDetail::ExecuteActivity, original_args.clone());
            *call.headers_mut() = header_map_in(input.headers());
            let mut session = self.chain.session(Scope::Activity(host.clone()));
            let guest_failed = |e: crate::GuestError| {
                // Retryable: the attempt is retried per the activity's retry policy.
                ActivityError::Application(Box::new(ApplicationFailure::new(e.to_string())))
            };
            let before = session.before(&mut call).map_err(guest_failed)?;
            host.flush(client, &token).await;
            let (entered, seen, value): (_, Outcome, Option<ExecuteActivityResult>) = match before {
                Before::Proceed(entered) => {
                    if let (Some(codec), Some(args)) = (&codec, call.args())
                        && original_args.as_deref() != Some(args)
                    {
                        codec
                            .set_activity_args(&mut input, args.to_vec())
                            .map_err(|e| {
                                ActivityError::Application(Box::new(ApplicationFailure::new(
                                    format!(
                                        "an interceptor replaced the arguments of `{}`: {e}",
                                        host_type
                                    ),
                                )))
                            })?;
                    }
                    *input.headers_mut() = call
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.clone(), payload_out(v.clone())))
                        .collect();
                    match next.run(input).await {
                        Ok(v) => {
                            let (v, payloads) = boxed_payloads(v);
                            (entered, Outcome::Ok(payloads), Some(Ok(v)))
                        }
                        Err(e) => (entered, Outcome::Err(failure_of(&e)), Some(Err(e))),
                    }
                }
                Before::Done(entered, outcome) => (entered, outcome, None),
            };
            let original = seen.clone();
            let last = session
                .after(&mut call, entered, seen)
                .map_err(guest_failed)?;
            let unchanged = original == last;
            match (value, last) {
                (Some(v), _) if unchanged => v,
                (_, Outcome::Ok(p)) => Ok(raw(p)),
                (_, Outcome::Err(f)) => Err(activity_error(&f)),
            }
        })
    }
}
