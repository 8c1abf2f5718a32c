//! Interceptor versions: which interceptor set handled each workflow task of a run.
//!
//! Temporal records the build id of the worker that completed every workflow task
//! (`WorkflowTaskCompleted.worker_version` / `deployment_version`). A worker stamped with
//! [`super::Interpose::stamp_worker`] carries its chain's fingerprint in that build id
//! (`<build id>+interpose.<first 12 hex digits>`), so a run's history says which
//! interceptor set it started with and where a different set took over. [`stamps`] reads
//! them back; `interpose versions` prints them and compares them with a config.

use std::time::SystemTime;

use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// What separates the application's build id from the chain fingerprint.
pub const STAMP_MARKER: &str = "+interpose.";

/// Hex digits of the fingerprint kept in a build id.
pub const STAMP_DIGITS: usize = 12;

/// `build_id` stamped with a chain `fingerprint` (any earlier stamp replaced).
pub fn stamp(build_id: &str, fingerprint: &str) -> String {
    let base = build_id
        .split_once(STAMP_MARKER)
        .map_or(build_id, |(b, _)| b);
    let short = &fingerprint[..fingerprint.len().min(STAMP_DIGITS)];
    format!("{base}{STAMP_MARKER}{short}")
}

/// The chain fingerprint (short form) a stamped build id carries.
pub fn fingerprint_of(build_id: &str) -> Option<&str> {
    build_id
        .split_once(STAMP_MARKER)
        .map(|(_, f)| f)
        .filter(|f| f.len() == STAMP_DIGITS && f.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a short fingerprint (from a build id) names the chain with `fingerprint`.
pub fn same_chain(short: &str, fingerprint: &str) -> bool {
    !short.is_empty() && fingerprint.starts_with(short)
}

/// One completed workflow task and the worker that completed it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskStamp {
    /// Event id of the `WorkflowTaskCompleted` event.
    pub event_id: i64,
    /// When it was recorded.
    pub time: Option<SystemTime>,
    /// The worker's build id ("" when it sent none).
    pub build_id: String,
    /// The worker's identity.
    pub identity: String,
    /// The chain fingerprint in the build id, when the worker was stamped.
    pub chain: Option<String>,
}

/// Every completed workflow task of a history, in order.
pub fn stamps(events: &[HistoryEvent]) -> Vec<TaskStamp> {
    events
        .iter()
        .filter_map(|e| match e.attributes.as_ref()? {
            Attributes::WorkflowTaskCompletedEventAttributes(a) => {
                #[allow(deprecated, reason = "older servers record only worker_version")]
                let build_id = a
                    .deployment_version
                    .as_ref()
                    .map(|v| v.build_id.clone())
                    .filter(|b| !b.is_empty())
                    .or_else(|| a.worker_version.as_ref().map(|v| v.build_id.clone()))
                    .unwrap_or_default();
                Some(TaskStamp {
                    event_id: e.event_id,
                    time: e.event_time.as_ref().and_then(|t| {
                        SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::new(
                            u64::try_from(t.seconds).ok()?,
                            u32::try_from(t.nanos).ok()?,
                        ))
                    }),
                    chain: fingerprint_of(&build_id).map(str::to_owned),
                    identity: a.identity.clone(),
                    build_id,
                })
            }
            _ => None,
        })
        .collect()
}

/// A run's interceptor history, summarized from its [`stamps`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunVersions {
    /// The chain that completed the run's first workflow task (`None`: unstamped worker).
    pub started_with: Option<String>,
    /// Every point where the chain changed: (event id, from, to).
    pub changes: Vec<(i64, Option<String>, Option<String>)>,
    /// Workflow tasks completed.
    pub tasks: usize,
}

/// Summarize `stamps`.
pub fn summarize(stamps: &[TaskStamp]) -> RunVersions {
    let mut out = RunVersions {
        started_with: stamps.first().and_then(|s| s.chain.clone()),
        changes: Vec::new(),
        tasks: stamps.len(),
    };
    for pair in stamps.windows(2) {
        if pair[0].chain != pair[1].chain {
            out.changes.push((
                pair[1].event_id,
                pair[0].chain.clone(),
                pair[1].chain.clone(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_replace_an_older_stamp() {
        let fp = "3f2a9c1b7e21aa55";
        let s = stamp("2a74e8e9", fp);
        assert_eq!(s, "2a74e8e9+interpose.3f2a9c1b7e21");
        assert_eq!(fingerprint_of(&s), Some("3f2a9c1b7e21"));
        assert!(same_chain("3f2a9c1b7e21", fp));
        assert_eq!(
            stamp(&s, "0123456789abcdef"),
            "2a74e8e9+interpose.0123456789ab"
        );
        assert_eq!(fingerprint_of("2a74e8e9"), None);
        assert_eq!(fingerprint_of("x+interpose.nothex!!!!!!"), None);
    }
}
