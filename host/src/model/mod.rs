//! The model: the data every other room speaks — hooks and their properties, categories,
//! phases, calls, outcomes and payloads.
//!
//! This room is at the bottom: it depends on nothing else in the crate. Its types are the
//! WIT types of `interpose:interceptor/types` (generated from `wit/` by the private `wit`
//! module, re-exported here), shared by the Wasm boundary, the chain and the Temporal
//! adapters, so a hop copies nothing between representations.

mod hooks;
pub(crate) mod wit;

use std::collections::BTreeMap;

pub use wit::interpose::interceptor::types::{
    ActivitySchedule, ActivityStart, ActivityTarget, AsyncActivity, AsyncActivityId, BuildIdQuery,
    CallDetail, ChildStart, ContinueAsNewOptions, Failure, Handler, HeaderAccess, HeaderEdit,
    HeaderReads, Hook, Interest, NexusOperationStart, NexusOperationTarget, NexusStart,
    OutboundCancel, OutboundSignal, Payload, Phases, ScheduleTarget, UpdateTarget, VisibilityQuery,
    WorkflowMessage, WorkflowStart, WorkflowStartWithMessage, WorkflowTarget,
};

pub use hooks::{Category, MAX_HEARTBEAT_BYTES, Phase, Properties, encoded_bytes};

/// Most bytes of keys and values the string headers of one operation (a Nexus operation's)
/// hold after guests' edits: Temporal refuses larger Nexus headers.
pub const MAX_STRING_HEADER_BYTES: usize = 4096;

/// Whether `key` may name a string header (a Nexus header): a non-empty lowercase HTTP token
/// (letters, digits and ``!#$%&'*+-.^_`|~``). Lowercase, because HTTP headers match without
/// case and Temporal lowercases them.
pub fn is_string_header_name(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

impl Payload {
    /// A payload with Temporal's `json/plain` encoding.
    pub fn json(data: impl Into<Vec<u8>>) -> Payload {
        Payload {
            metadata: vec![("encoding".into(), b"json/plain".to_vec())],
            data: data.into(),
        }
    }

    /// A string header value (a Nexus header) as guests see it: `json/plain`, the value as a
    /// JSON string.
    pub fn from_header_string(value: &str) -> Payload {
        Payload::json(serde_json::Value::from(value).to_string())
    }

    /// The string a payload stands for as a string header value (a Nexus header): a
    /// `json/plain` JSON string is that string; a payload with another encoding stands for
    /// its data as UTF-8. `None` when it is neither (a `json/plain` value that is not a
    /// string, or data that is not UTF-8).
    pub fn header_string(&self) -> Option<String> {
        let json = self
            .metadata
            .iter()
            .any(|(k, v)| k == "encoding" && v.as_slice() == b"json/plain");
        let s = if json {
            serde_json::from_slice::<String>(&self.data).ok()?
        } else {
            String::from_utf8(self.data.clone()).ok()?
        };
        // A header value travels in HTTP: no control character but tab.
        (!s.chars().any(|c| c.is_control() && c != '\t')).then_some(s)
    }

    /// Size in bytes of metadata and data.
    pub fn size(&self) -> usize {
        self.metadata.iter().fold(self.data.len(), |n, (k, v)| {
            n.saturating_add(k.len()).saturating_add(v.len())
        })
    }
}

impl Failure {
    /// A failure with a message and no type or details.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            error_type: String::new(),
            non_retryable: false,
            details: Vec::new(),
        }
    }
}

/// One intercepted call: which hook, its typed detail, its headers and its arguments.
///
/// Guests edit it through the `call` resource; edits made by a guest that then fails are
/// rolled back, so a skipped guest leaves no trace.
#[derive(Clone, Debug)]
pub struct Call {
    pub(crate) detail: CallDetail,
    pub(crate) headers: BTreeMap<String, Payload>,
    pub(crate) args: Option<Vec<Payload>>,
    pub(crate) has_headers: bool,
}

impl Call {
    /// A call for the hook of `detail`, with no headers. `args` is `None` when the hook
    /// carries no arguments (timers, cancellations, list calls).
    pub fn new(detail: CallDetail, args: Option<Vec<Payload>>) -> Call {
        Call {
            detail,
            headers: BTreeMap::new(),
            args,
            has_headers: true,
        }
    }

    /// A call whose operation carries no Temporal headers (e.g. list, describe, schedules):
    /// guests that try to set one get `edit-error.not-supported` instead of an edit that
    /// would be silently dropped.
    pub fn without_headers(detail: CallDetail, args: Option<Vec<Payload>>) -> Call {
        Call {
            has_headers: false,
            ..Call::new(detail, args)
        }
    }

    /// A call as the Temporal operation of its hook carries it: with headers where the
    /// operation has them ([`Hook::carries_headers`]), as [`Call::without_headers`]
    /// otherwise. What the adapters build.
    pub fn for_operation(detail: CallDetail, args: Option<Vec<Payload>>) -> Call {
        let headers = detail.hook().carries_headers();
        Call {
            has_headers: headers,
            ..Call::new(detail, args)
        }
    }

    /// Whether the operation carries headers.
    pub fn has_headers(&self) -> bool {
        self.has_headers
    }

    /// Whether a guest's `before` may edit the headers of this call.
    pub fn header_access(&self) -> HeaderAccess {
        if self.hook().is_read_only() {
            HeaderAccess::ReadOnly
        } else if !self.has_headers {
            HeaderAccess::Absent
        } else {
            HeaderAccess::Editable
        }
    }

    /// Builder: add a header.
    pub fn with_header(mut self, key: impl Into<String>, value: Payload) -> Call {
        self.headers.insert(key.into(), value);
        self
    }

    /// The hook this call is for.
    pub fn hook(&self) -> Hook {
        self.detail.hook()
    }

    /// The typed detail.
    pub fn detail(&self) -> &CallDetail {
        &self.detail
    }

    /// The headers.
    pub fn headers(&self) -> &BTreeMap<String, Payload> {
        &self.headers
    }

    /// The headers, mutable (for adapters that move them in and out of SDK inputs).
    pub fn headers_mut(&mut self) -> &mut BTreeMap<String, Payload> {
        &mut self.headers
    }

    /// The arguments, if the hook carries any.
    pub fn args(&self) -> Option<&[Payload]> {
        self.args.as_deref()
    }

    /// Split the call into its parts.
    pub fn into_parts(self) -> (CallDetail, BTreeMap<String, Payload>, Option<Vec<Payload>>) {
        (self.detail, self.headers, self.args)
    }
}

impl Call {
    /// What an instance holds while no call runs: never shown to a guest (the `call` handle
    /// exists only inside a hook), and replaced before every hook.
    pub(crate) fn placeholder() -> Call {
        Call::new(CallDetail::ExecuteActivity, None)
    }
}

/// How a call ended, as the chain sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Success. Holds the result payloads where the hook's result is a payload list;
    /// empty otherwise (the adapter keeps the native result).
    Ok(Vec<Payload>),
    /// Failure.
    Err(Failure),
}

impl Outcome {
    /// True for success.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}
