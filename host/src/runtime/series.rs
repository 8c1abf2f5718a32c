//! What a guest may record as a metric, and how many series it may create.
//!
//! Guest metrics go into the worker's own registry (Prometheus, next to Temporal's metrics),
//! so every name, label and value a guest passes is checked before it gets there:
//!
//! - the shape of a sample (name, labels, unit, value) is checked on every call, live and in
//!   replay alike, and a bad one traps: it depends only on what the guest passed, so a
//!   workflow guest fails the same way in replay;
//! - the number of distinct series (name and label set) a guest creates is capped. The cap
//!   depends on what this process has seen, not on the call, so passing it never fails the
//!   call (that would make a workflow's outcome depend on the worker's history): the sample
//!   is dropped, counted, and the host logs one error naming the guest, the metric and the
//!   cap.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::services::MetricKind;

/// Longest metric name.
pub(crate) const MAX_NAME: usize = 128;
/// Most labels on one sample.
pub(crate) const MAX_LABELS: usize = 16;
/// Longest label value.
pub(crate) const MAX_LABEL_VALUE: usize = 256;
/// Longest unit.
pub(crate) const MAX_UNIT: usize = 32;
/// Name prefixes that belong to the worker and the host.
pub(crate) const RESERVED_PREFIXES: &[&str] = &["temporal_", "interpose_"];
/// Label keys the host sets itself, and those Prometheus gives a meaning of its own: `le`
/// on histogram buckets (the `prometheus` crate refuses it on histograms, see its
/// `check_bucket_label`), `quantile` on summaries (by convention).
pub(crate) const RESERVED_LABELS: &[&str] = &["interpose_guest", "le", "quantile"];

/// A Prometheus identifier: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Shown in errors: at most 64 characters of a guest-chosen string.
fn shown(s: &str) -> String {
    let cut = s.floor_char_boundary(64);
    if cut < s.len() {
        format!("{:?}…", &s[..cut])
    } else {
        format!("{s:?}")
    }
}

/// Check one sample's shape; the error says what is wrong.
pub(crate) fn validate(
    name: &str,
    value: f64,
    unit: &str,
    attributes: &[(String, String)],
) -> Result<(), String> {
    if name.len() > MAX_NAME || !identifier(name) {
        return Err(format!(
            "metric name {} is not allowed: names are 1 to {MAX_NAME} characters of \
             [a-zA-Z0-9_], not starting with a digit",
            shown(name)
        ));
    }
    let lower = name.to_ascii_lowercase();
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| lower.starts_with(*p)) {
        return Err(format!(
            "metric name {} is not allowed: the prefix `{p}` belongs to the worker",
            shown(name)
        ));
    }
    if !value.is_finite() {
        return Err(format!("metric {name}: the value {value} is not finite"));
    }
    if unit.len() > MAX_UNIT || !unit.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "metric {name}: unit {} is not allowed (at most {MAX_UNIT} printable ASCII \
             characters)",
            shown(unit)
        ));
    }
    if attributes.len() > MAX_LABELS {
        return Err(format!(
            "metric {name}: {} labels; at most {MAX_LABELS} are allowed",
            attributes.len()
        ));
    }
    let mut keys = HashSet::new();
    for (k, v) in attributes {
        if k.len() > MAX_NAME || !identifier(k) || k.starts_with("__") {
            return Err(format!(
                "metric {name}: label {} is not allowed: labels are 1 to {MAX_NAME} \
                 characters of [a-zA-Z0-9_], not starting with a digit or `__`",
                shown(k)
            ));
        }
        if RESERVED_LABELS.contains(&k.as_str()) {
            return Err(format!(
                "metric {name}: the label `{k}` is reserved (set by the host or by Prometheus)"
            ));
        }
        if !keys.insert(k.as_str()) {
            return Err(format!("metric {name}: the label `{k}` is given twice"));
        }
        if v.len() > MAX_LABEL_VALUE {
            return Err(format!(
                "metric {name}: the value of label `{k}` is {} bytes; at most \
                 {MAX_LABEL_VALUE} are allowed",
                v.len()
            ));
        }
    }
    Ok(())
}

type SeriesKey = (String, BTreeSet<(String, String)>);

/// The series one guest has created in this process, up to its cap.
pub(crate) struct Series {
    cap: usize,
    seen: Mutex<State>,
    warned: AtomicBool,
    dropped: AtomicU64,
}

#[derive(Default)]
struct State {
    series: HashSet<SeriesKey>,
    kinds: HashMap<String, MetricKind>,
}

/// Why a valid sample was not recorded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The guest already has `cap` series.
    Cap(usize),
    /// The name was first recorded as another kind.
    Kind(MetricKind),
}

impl Series {
    pub(crate) fn new(cap: usize) -> Series {
        Series {
            cap,
            seen: Mutex::default(),
            warned: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    /// Admit a (validated) sample: `Ok` for a known series or a new one within the cap.
    pub(crate) fn admit(
        &self,
        kind: MetricKind,
        name: &str,
        attributes: &[(String, String)],
    ) -> Result<(), Refused> {
        let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = s.kinds.get(name)
            && *k != kind
        {
            return Err(Refused::Kind(*k));
        }
        let key = (name.to_owned(), attributes.iter().cloned().collect());
        if s.series.contains(&key) {
            return Ok(());
        }
        if s.series.len() >= self.cap {
            return Err(Refused::Cap(self.cap));
        }
        s.series.insert(key);
        s.kinds.entry(name.to_owned()).or_insert(kind);
        Ok(())
    }

    /// Count a dropped sample; true the first time (the caller logs once per guest).
    pub(crate) fn dropped(&self) -> bool {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        !self.warned.swap(true, Ordering::Relaxed)
    }

    /// Samples dropped so far.
    pub(crate) fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn names_labels_units_and_values_are_checked() {
        assert!(validate("orders_total", 1.0, "", &[]).is_ok());
        assert!(validate("latency_ms", 1.5, "ms", &attrs(&[("kind", "a")])).is_ok());
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "temporal_workflow_completed",
            "Interpose_x",
        ] {
            assert!(validate(bad, 1.0, "", &[]).is_err(), "{bad:?}");
        }
        assert!(validate(&"a".repeat(MAX_NAME + 1), 1.0, "", &[]).is_err());
        assert!(validate("m", f64::NAN, "", &[]).is_err());
        assert!(validate("m", f64::INFINITY, "", &[]).is_err());
        assert!(validate("m", 1.0, "m s", &[]).is_err());
        assert!(validate("m", 1.0, "", &attrs(&[("__name__", "x")])).is_err());
        assert!(validate("m", 1.0, "", &attrs(&[("interpose_guest", "x")])).is_err());
        assert!(validate("m", 1.0, "", &attrs(&[("le", "1")])).is_err());
        assert!(validate("m", 1.0, "", &attrs(&[("quantile", "0.5")])).is_err());
        assert!(validate("m", 1.0, "", &attrs(&[("a", "1"), ("a", "2")])).is_err());
        let long = "é".repeat(MAX_LABEL_VALUE);
        assert!(validate("m", 1.0, "", &attrs(&[("a", &long)])).is_err());
        let many: Vec<_> = (0..=MAX_LABELS)
            .map(|i| (format!("l{i}"), String::new()))
            .collect();
        assert!(validate("m", 1.0, "", &many).is_err());
        // Error text cuts guest strings on a character boundary.
        let e = validate(&"🦀".repeat(100), 1.0, "", &[]).unwrap_err();
        assert!(e.contains('…'), "{e}");
    }

    #[test]
    fn series_are_capped_and_kinds_fixed_per_name() {
        let s = Series::new(2);
        let c = MetricKind::Counter;
        assert_eq!(s.admit(c, "a", &attrs(&[("k", "1")])), Ok(()));
        assert_eq!(
            s.admit(c, "a", &attrs(&[("k", "1")])),
            Ok(()),
            "known series"
        );
        assert_eq!(s.admit(c, "a", &attrs(&[("k", "2")])), Ok(()));
        assert_eq!(s.admit(c, "a", &attrs(&[("k", "3")])), Err(Refused::Cap(2)));
        assert_eq!(
            s.admit(MetricKind::Histogram, "a", &attrs(&[("k", "1")])),
            Err(Refused::Kind(c))
        );
        assert!(s.dropped(), "first drop is reported");
        assert!(!s.dropped(), "later drops are only counted");
        assert_eq!(s.dropped_count(), 2);
    }
}
