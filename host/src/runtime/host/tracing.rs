//! `interpose:interceptor/tracing`: spans a guest starts, ends and propagates in the
//! `_tracer-data` header. Everything a guest passes is checked and bounded here (lengths,
//! counts, the instance's span budget); ids come from the guest's per-run stream in
//! workflow hooks, so they are identical live and in replay; a span is exported only when
//! it ends live.

use std::collections::BTreeMap;

use rand::Rng as _;
use wasmtime::component::Resource;

use super::HostState;
use crate::config::OUTPUT_ITEM_COST;
use crate::model::Payload;
use crate::model::wit::SpanRep;
use crate::model::wit::interpose::interceptor::tracing;
use crate::services::{FinishedSpan, Scope, SpanEvent, SpanKind, SpanStatus};

/// Longest span name, attribute key, event name.
pub(crate) const MAX_NAME: usize = 256;
/// Longest attribute value or status description.
pub(crate) const MAX_VALUE: usize = 4096;
/// Most spans one instance holds (started and not dropped).
pub(crate) const MAX_SPANS: usize = 256;
/// Most attributes one span holds (OpenTelemetry's default limit), and most events; an
/// event's attributes count against the same limit.
pub(crate) const MAX_ATTRIBUTES: usize = 128;
/// Most span data one instance holds: every name, key and value, each with
/// [`OUTPUT_ITEM_COST`] more.
pub(crate) const MAX_SPAN_BYTES: u64 = 1 << 20;

/// One span a guest holds.
pub(crate) struct SpanState {
    name: String,
    kind: SpanKind,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<([u8; 8], bool)>,
    /// The W3C `sampled` flag: inherited from the parent, set on a new trace.
    sampled: bool,
    start: u64,
    attributes: Vec<(String, String)>,
    events: Vec<SpanEvent>,
    status: SpanStatus,
    description: String,
    ended: bool,
    /// What the current status holds of the budget (given back when it is replaced).
    status_bytes: u64,
    /// What this span holds of the instance's budget, given back when it is dropped.
    bytes: u64,
}

/// The spans of one instance and the stream their ids come from.
pub(crate) struct Spans {
    /// The spans the guest holds, by resource rep.
    table: BTreeMap<u32, SpanState>,
    /// The rep the next span gets (skipping reps in use).
    next: u32,
    /// Reps of the spans started and not ended, in start order (the last is current).
    open: Vec<u32>,
    bytes: u64,
    ids: rand_chacha::ChaCha8Rng,
}

impl Spans {
    pub(crate) fn new(ids: rand_chacha::ChaCha8Rng) -> Spans {
        Spans {
            table: BTreeMap::new(),
            next: 0,
            open: Vec::new(),
            bytes: 0,
            ids,
        }
    }

    /// No span is current any more (the instance serves another caller now); the spans
    /// stay the guest's until it drops them.
    pub(crate) fn forget_open(&mut self) {
        self.open.clear();
    }

    fn get(&mut self, span: &Resource<SpanRep>) -> wasmtime::Result<&mut SpanState> {
        // The component model hands the host only reps it created for this instance.
        self.table
            .get_mut(&span.rep())
            .ok_or_else(|| wasmtime::format_err!("`tracing`: unknown span"))
    }

    fn insert(&mut self, state: SpanState) -> u32 {
        while self.table.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        let rep = self.next;
        self.next = self.next.wrapping_add(1);
        self.table.insert(rep, state);
        rep
    }

    fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0u8; 16];
        self.ids.fill_bytes(&mut id);
        if id == [0; 16] {
            id[15] = 1;
        }
        id
    }

    fn span_id(&mut self) -> [u8; 8] {
        let mut id = [0u8; 8];
        self.ids.fill_bytes(&mut id);
        if id == [0; 8] {
            id[7] = 1;
        }
        id
    }
}

/// The trace id, span id and `sampled` flag a `_tracer-data` header value carries, if it is
/// a JSON object whose `traceparent` is a valid W3C version-00 trace parent with non-zero ids.
pub(crate) fn parse_parent(header: &Payload) -> Option<([u8; 16], [u8; 8], bool)> {
    #[derive(serde::Deserialize)]
    struct Carrier {
        traceparent: String,
    }
    let carrier: Carrier = serde_json::from_slice(&header.data).ok()?;
    let mut parts = carrier.traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |p: &str| p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if parts.next().is_some()
        || version != "00"
        || flags.len() != 2
        || ![trace, span, flags].into_iter().all(lower_hex)
    {
        return None;
    }
    let mut trace_id = [0u8; 16];
    let mut span_id = [0u8; 8];
    hex::decode_to_slice(trace, &mut trace_id).ok()?;
    hex::decode_to_slice(span, &mut span_id).ok()?;
    let mut flags_byte = [0u8; 1];
    hex::decode_to_slice(flags, &mut flags_byte).ok()?;
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some((trace_id, span_id, flags_byte[0] & 1 == 1))
}

/// The `_tracer-data` header value for a span:
/// `{"traceparent":"00-<trace>-<span>-<flags>"}` (flags `01` when sampled, else `00`), JSON
/// with Temporal's `json/plain` encoding.
pub(crate) fn carrier(trace_id: &[u8; 16], span_id: &[u8; 8], sampled: bool) -> Payload {
    Payload::json(format!(
        "{{\"traceparent\":\"00-{}-{}-{}\"}}",
        hex::encode(trace_id),
        hex::encode(span_id),
        if sampled { "01" } else { "00" }
    ))
}

impl HostState {
    /// Check one guest string and charge it to the call's output and the instance's span
    /// budget.
    fn span_text(&mut self, what: &str, s: &str, min: usize, max: usize) -> wasmtime::Result<u64> {
        if s.len() < min || s.len() > max {
            wasmtime::bail!(
                "`tracing`: {what} is {} bytes; it must be {min} to {max} bytes",
                s.len()
            );
        }
        self.charge_output(s.len() as u64)?;
        Ok(s.len() as u64 + OUTPUT_ITEM_COST)
    }

    /// Check and charge one attribute; its cost in the span budget.
    fn span_attribute(&mut self, key: &str, value: &str) -> wasmtime::Result<u64> {
        if key.starts_with("interpose.") {
            wasmtime::bail!(
                "`tracing`: attribute key `{}` is the host's (keys starting `interpose.` are \
                 reserved)",
                key.chars().take(64).collect::<String>().escape_debug()
            );
        }
        Ok(self
            .span_text("an attribute key", key, 1, MAX_NAME)?
            .saturating_add(self.span_text("an attribute value", value, 0, MAX_VALUE)?))
    }

    fn span_attributes(&mut self, attributes: &[(String, String)]) -> wasmtime::Result<u64> {
        if attributes.len() > MAX_ATTRIBUTES {
            wasmtime::bail!(
                "`tracing`: {} attributes; at most {MAX_ATTRIBUTES} are allowed",
                attributes.len()
            );
        }
        let mut n = 0u64;
        for (k, v) in attributes {
            n = n.saturating_add(self.span_attribute(k, v)?);
        }
        Ok(n)
    }

    /// Take `bytes` of the instance's span budget and give back `freed` (what a replaced
    /// value held), trapping past the budget.
    fn span_budget(&mut self, bytes: u64, freed: u64) -> wasmtime::Result<()> {
        let total = self.spans.bytes.saturating_sub(freed).saturating_add(bytes);
        if total > MAX_SPAN_BYTES {
            wasmtime::bail!(
                "`tracing`: the instance's spans would hold {total} bytes; at most \
                 {MAX_SPAN_BYTES} are allowed (drop spans once they are ended)"
            );
        }
        self.spans.bytes = total;
        Ok(())
    }

    fn span_now(&self) -> u64 {
        match &self.scope {
            Scope::Workflow(_) => self.shared.now.load(std::sync::atomic::Ordering::Relaxed),
            _ => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        }
    }

    fn in_hook(&self, func: &str) -> wasmtime::Result<()> {
        if self.hook().is_none() {
            wasmtime::bail!(
                "`tracing.{func}` was called while the guest was loaded (instantiation or \
                 declaring interests), outside any hook; spans belong to hooks"
            );
        }
        Ok(())
    }

    fn span(&mut self, span: &Resource<SpanRep>) -> wasmtime::Result<&mut SpanState> {
        self.spans.get(span)
    }

    /// Whether `span` still takes changes: an ended span was exported, so changes to it are
    /// ignored (and not charged).
    fn span_open(&mut self, span: &Resource<SpanRep>) -> wasmtime::Result<bool> {
        Ok(!self.span(span)?.ended)
    }
}

fn kind_of(k: tracing::SpanKind) -> SpanKind {
    match k {
        tracing::SpanKind::Internal => SpanKind::Internal,
        tracing::SpanKind::Server => SpanKind::Server,
        tracing::SpanKind::Client => SpanKind::Client,
        tracing::SpanKind::Producer => SpanKind::Producer,
        tracing::SpanKind::Consumer => SpanKind::Consumer,
    }
}

impl tracing::HostSpan for HostState {
    fn new(
        &mut self,
        name: String,
        kind: tracing::SpanKind,
        attributes: Vec<(String, String)>,
        parent: Option<Payload>,
    ) -> wasmtime::Result<Resource<SpanRep>> {
        self.in_hook("span")?;
        if self.spans.table.len() >= MAX_SPANS {
            wasmtime::bail!(
                "`tracing`: the instance holds {MAX_SPANS} spans already; drop spans once \
                 they are ended"
            );
        }
        let mut bytes = self.span_text("a span name", &name, 1, MAX_NAME)?;
        bytes = bytes.saturating_add(self.span_attributes(&attributes)?);
        if let Some(p) = &parent {
            self.charge_payloads(std::slice::from_ref(p))?;
        }
        self.span_budget(bytes, 0)?;
        let from_header = parent.as_ref().and_then(parse_parent);
        let (trace_id, parent, sampled) = match from_header {
            Some((trace, span, sampled)) => (trace, Some((span, true)), sampled),
            None => match self.spans.open.last() {
                Some(rep) => {
                    let cur = self
                        .spans
                        .table
                        .get(rep)
                        .ok_or_else(|| wasmtime::format_err!("`tracing`: unknown span"))?;
                    (cur.trace_id, Some((cur.span_id, false)), cur.sampled)
                }
                None => (self.spans.trace_id(), None, true),
            },
        };
        let span_id = self.spans.span_id();
        let mut unique: Vec<(String, String)> = Vec::with_capacity(attributes.len());
        for (k, v) in attributes {
            match unique.iter_mut().find(|(uk, _)| *uk == k) {
                Some(slot) => slot.1 = v,
                None => unique.push((k, v)),
            }
        }
        let state = SpanState {
            name,
            kind: kind_of(kind),
            trace_id,
            span_id,
            parent,
            sampled,
            start: self.span_now(),
            attributes: unique,
            events: Vec::new(),
            status: SpanStatus::Unset,
            description: String::new(),
            ended: false,
            status_bytes: 0,
            bytes,
        };
        let rep = self.spans.insert(state);
        self.spans.open.push(rep);
        Ok(Resource::new_own(rep))
    }

    fn set_attribute(
        &mut self,
        span: Resource<SpanRep>,
        key: String,
        value: String,
    ) -> wasmtime::Result<()> {
        if !self.span_open(&span)? {
            return Ok(());
        }
        let bytes = self.span_attribute(&key, &value)?;
        let s = self.span(&span)?;
        let slot = s.attributes.iter().position(|(k, _)| *k == key);
        if slot.is_none() && s.attributes.len() >= MAX_ATTRIBUTES {
            wasmtime::bail!("`tracing`: a span holds at most {MAX_ATTRIBUTES} attributes");
        }
        // A replaced value gives its bytes back.
        let freed = slot.map_or(0, |i| {
            let (k, v) = &s.attributes[i];
            (k.len() + v.len()) as u64 + 2 * OUTPUT_ITEM_COST
        });
        self.span_budget(bytes, freed)?;
        let s = self.span(&span)?;
        s.bytes = s.bytes.saturating_sub(freed).saturating_add(bytes);
        match slot {
            Some(i) => s.attributes[i].1 = value,
            None => s.attributes.push((key, value)),
        }
        Ok(())
    }

    fn add_event(
        &mut self,
        span: Resource<SpanRep>,
        name: String,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if !self.span_open(&span)? {
            return Ok(());
        }
        if self.span(&span)?.events.len() >= MAX_ATTRIBUTES {
            wasmtime::bail!("`tracing`: a span holds at most {MAX_ATTRIBUTES} events");
        }
        let bytes = self
            .span_text("an event name", &name, 1, MAX_NAME)?
            .saturating_add(self.span_attributes(&attributes)?);
        self.span_budget(bytes, 0)?;
        let time = self.span_now();
        let s = self.span(&span)?;
        s.bytes = s.bytes.saturating_add(bytes);
        s.events.push(SpanEvent::new(name, time, attributes));
        Ok(())
    }

    fn set_status(
        &mut self,
        span: Resource<SpanRep>,
        status: tracing::Status,
        description: String,
    ) -> wasmtime::Result<()> {
        if !self.span_open(&span)? {
            return Ok(());
        }
        let bytes = self.span_text("a status description", &description, 0, MAX_VALUE)?;
        // The status it replaces gives its bytes back.
        let freed = self.span(&span)?.status_bytes;
        self.span_budget(bytes, freed)?;
        let s = self.span(&span)?;
        s.bytes = s.bytes.saturating_sub(freed).saturating_add(bytes);
        s.status_bytes = bytes;
        s.status = match status {
            tracing::Status::Unset => SpanStatus::Unset,
            tracing::Status::Ok => SpanStatus::Ok,
            tracing::Status::Error => SpanStatus::Error,
        };
        s.description = description;
        Ok(())
    }

    fn inject(&mut self, span: Resource<SpanRep>) -> wasmtime::Result<Payload> {
        let s = self.span(&span)?;
        Ok(carrier(&s.trace_id, &s.span_id, s.sampled))
    }

    fn trace_id(&mut self, span: Resource<SpanRep>) -> wasmtime::Result<String> {
        Ok(hex::encode(self.span(&span)?.trace_id))
    }

    fn span_id(&mut self, span: Resource<SpanRep>) -> wasmtime::Result<String> {
        Ok(hex::encode(self.span(&span)?.span_id))
    }

    fn end(&mut self, span: Resource<SpanRep>) -> wasmtime::Result<()> {
        self.in_hook("end")?;
        let end = self.span_now();
        let rep = span.rep();
        let s = self.span(&span)?;
        if s.ended {
            return Ok(());
        }
        s.ended = true;
        self.spans.open.retain(|r| *r != rep);
        let guest = self.guest.name.clone();
        let hook = self.hook();
        let s = self.span(&span)?;
        let finished = FinishedSpan {
            guest,
            hook,
            name: s.name.clone(),
            kind: s.kind,
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent.map(|p| p.0),
            parent_is_remote: s.parent.is_some_and(|p| p.1),
            sampled: s.sampled,
            start_nanos: s.start,
            end_nanos: end.max(s.start),
            attributes: s.attributes.clone(),
            events: s.events.clone(),
            status: s.status,
            status_description: s.description.clone(),
            workflow_time: matches!(self.scope, Scope::Workflow(_)),
        };
        if self.suppressed() {
            self.guest.traces.replayed(finished);
        } else {
            self.guest.traces.export(finished);
        }
        Ok(())
    }

    fn drop(&mut self, span: Resource<SpanRep>) -> wasmtime::Result<()> {
        let rep = span.rep();
        if let Some(s) = self.spans.table.remove(&rep) {
            self.spans.bytes = self.spans.bytes.saturating_sub(s.bytes);
        }
        self.spans.open.retain(|r| *r != rep);
        Ok(())
    }
}

impl tracing::Host for HostState {
    fn is_valid_parent(&mut self, header: Payload) -> wasmtime::Result<bool> {
        self.charge_payloads(std::slice::from_ref(&header))?;
        Ok(parse_parent(&header).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carrier_round_trips_and_bad_headers_are_no_parent() {
        let (t, s) = ([7u8; 16], [9u8; 8]);
        assert_eq!(parse_parent(&carrier(&t, &s, true)), Some((t, s, true)));
        assert_eq!(parse_parent(&carrier(&t, &s, false)), Some((t, s, false)));
        // What Python's TracingInterceptor writes (sorted keys, baggage beside).
        let python = Payload::json(
            "{\"baggage\":\"k=v\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}",
        );
        assert!(parse_parent(&python).is_some());
        for bad in [
            "",
            "null",
            "{}",
            "{\"traceparent\":5}",
            "{\"traceparent\":\"00-00000000000000000000000000000000-b7ad6b7169203331-01\"}",
            "{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01\"}",
            "{\"traceparent\":\"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}",
            "{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x\"}",
            "{\"traceparent\":\"00-0af7651916cd43dd8448eb211c8031ü-b7ad6b7169203331-01\"}",
            "{\"traceparent\":\"00-zz-b7ad6b7169203331-01\"}",
            "{\"traceparent\":\"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\"}",
        ] {
            assert_eq!(parse_parent(&Payload::json(bad)), None, "{bad}");
        }
    }
}
