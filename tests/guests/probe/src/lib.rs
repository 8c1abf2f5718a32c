//! Test fixture for chain semantics. Interested in every hook, both phases. Config:
//!
//! - `tag`: this guest's name in trails (default `probe`);
//! - `before`: `proceed` (default) | `reject` | `respond` | `set-args` | `edit-detail`;
//! - `after`: `keep` (default) | `append` (result payload gets `tag` appended) | `fail` |
//!   `panic` | `fail-run` (fails `execute-workflow` only: the run's end);
//! - `work`: iterations of deterministic busy work per call (for fuel tests);
//! - `work-growth`: further iterations per call, times the calls this instance has seen
//!   (call n of a run costs `n * work-growth`: a fuel limit then runs out at a known call);
//! - `scope = "workflow"`: act in workflow hooks only (elsewhere proceed untouched);
//! - `activity-id`: when set, scheduled activities get the id `<activity-id>-<calls>` (an
//!   edit that changes the commands a workflow produces; the replay tests use it).
//!
//! In `after` it logs `<tag> after <hook>` (whether or not the run is replaying: an
//! outbound call's `after` runs in the activation where the call resolved, which the host
//! must tell apart from replay). In `before` it logs `<tag> before <hook>` and counts `probe_hooks{hook}` whether or not
//! the run is replaying (the host must drop both in replay), appends its tag to the `trail` header and writes how many calls this
//! instance has seen into the `seen-<tag>` header (per-run state).

use interpose_guest::{
    After, Before, Call, CallDetail, Failure, Interceptor, Outcome, Payload, config, interceptor,
    log,
};

#[derive(Default)]
struct Probe {
    calls: u32,
    /// Spans kept across calls (the span-flood and span-budget modes).
    spans: Vec<interpose_guest::tracing::Span>,
    /// The guest's configuration, read once per instance (each read is a host call).
    cfg: Option<Cfg>,
}

struct Cfg {
    tag: String,
    workflow_only: bool,
    activity_id: Option<String>,
    before: Option<String>,
    after: Option<String>,
    work: u64,
    work_growth: u64,
}

impl Cfg {
    fn read() -> Cfg {
        let num = |k: &str| -> u64 { config::get(k).and_then(|w| w.parse().ok()).unwrap_or(0) };
        Cfg {
            tag: config::get("tag").unwrap_or_else(|| "probe".into()),
            workflow_only: config::get("scope").as_deref() == Some("workflow"),
            activity_id: config::get("activity-id"),
            before: config::get("before"),
            after: config::get("after"),
            work: num("work"),
            work_growth: num("work-growth"),
        }
    }

    fn work(&self, calls: u32) -> u64 {
        work(self.work + self.work_growth * u64::from(calls))
    }
}

fn work(n: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        x = x.rotate_left(5) ^ i.wrapping_mul(0x100_0000_01b3);
    }
    x
}

/// An internal span with no attributes and the current span as parent.
fn span(name: &str) -> interpose_guest::tracing::Span {
    interpose_guest::tracing::Span::new(
        name,
        interpose_guest::tracing::SpanKind::Internal,
        &[],
        None,
    )
}

/// Two spans of 100 attributes of 4 KiB each: 800 KiB of span data.
fn big_spans() -> Vec<interpose_guest::tracing::Span> {
    (0..2)
        .map(|_| {
            let s = span("big");
            for i in 0..100 {
                s.set_attribute(&format!("k{i}"), &"v".repeat(4096));
            }
            s
        })
        .collect()
}

/// Record a heartbeat naming the guest and the attempt.
fn heartbeat(tag: &str) {
    let attempt = interpose_guest::activity::info().attempt;
    interpose_guest::activity::heartbeat(&[Payload::json_string(&format!(
        "{tag} beat on attempt {attempt}"
    ))]);
}

impl Probe {
    fn before(&mut self, call: &Call) -> Before {
        let cfg = self.cfg.get_or_insert_with(Cfg::read);
        if cfg.workflow_only && !interpose_guest::category_of(call.hook()).starts_with("workflow") {
            return Before::Proceed;
        }
        self.calls += 1;
        let tag = &cfg.tag;
        let _ = core::hint::black_box(cfg.work(self.calls));
        let trail = call.header_string("trail").unwrap_or_default();
        let trail = if trail.is_empty() {
            tag.clone()
        } else {
            format!("{trail},{tag}")
        };
        // Edits may be refused (read-only hooks); the probe proceeds either way.
        let _ = call.set_header("trail", Payload::json_string(&trail));
        let _ = call.set_header(
            &format!("seen-{tag}"),
            Payload::json_string(&self.calls.to_string()),
        );
        let hook = interpose_guest::hook_name(call.hook());
        log::info(&format!("{tag} before {hook}"));
        interpose_guest::metrics::counter_add(
            "probe_hooks",
            1,
            &[("hook".to_owned(), hook.to_owned())],
        );
        if let (Some(prefix), CallDetail::ScheduleActivity(mut s)) =
            (&cfg.activity_id, call.detail())
        {
            s.activity_id = format!("{prefix}-{}", self.calls);
            if let Err(e) = call.set_detail(CallDetail::ScheduleActivity(s)) {
                log::error(&format!("activity id edit refused: {e:?}"));
            }
        }
        match cfg.before.as_deref() {
            Some("reject") => {
                Before::Reject(Failure::new(format!("rejected by {tag}")).with_type("Rejected"))
            }
            Some("respond") => {
                Before::Respond(vec![Payload::json_string(&format!("answered by {tag}"))])
            }
            // Record a heartbeat naming the attempt (activity hooks only); then, per the
            // suffix, panic or record one of 300 KiB.
            Some(hb @ ("heartbeat" | "heartbeat-then-panic" | "heartbeat-big"))
                if interpose_guest::category_of(call.hook()) == "activity-inbound" =>
            {
                heartbeat(tag);
                match hb {
                    "heartbeat-then-panic" => panic!("{tag} panics after its heartbeat"),
                    "heartbeat-big" => {
                        interpose_guest::activity::heartbeat(&[Payload::json_string(
                            &"x".repeat(300 * 1024),
                        )])
                    }
                    _ => {}
                }
                Before::Proceed
            }
            // Misuse of the tracing import, for the limit tests.
            Some("span-long-name") => {
                let _ = span(&"x".repeat(300));
                Before::Proceed
            }
            Some("span-flood") => {
                for i in 0..300 {
                    self.spans.push(span(&format!("s{i}")));
                }
                Before::Proceed
            }
            // 2000 small spans ended (and dropped) in one call: more than a Python
            // process queues per guest per call.
            Some("span-storm") => {
                for _ in 0..2000 {
                    span("storm").end();
                }
                Before::Proceed
            }
            // One span with the most attributes a guest may set (128).
            Some("span-full") => {
                let s = span("full");
                for i in 0..128 {
                    s.set_attribute(&format!("k{i}"), "v");
                }
                s.end();
                Before::Proceed
            }
            // Two spans of 800 KiB in all, ended and dropped in the call.
            Some("span-churn") => {
                for s in big_spans() {
                    s.end();
                }
                Before::Proceed
            }
            // One kept span whose one attribute is replaced 200 times a call.
            Some("span-replace") => {
                if self.spans.is_empty() {
                    self.spans.push(span("kept"));
                }
                for _ in 0..200 {
                    self.spans[0].set_attribute("k", &"v".repeat(4096));
                }
                Before::Proceed
            }
            // An ended child of whatever span is current, then a span left open.
            Some("span-leak") => {
                span("child").end();
                self.spans.push(span("open"));
                Before::Proceed
            }
            Some("span-reserved-key") => {
                span("s").set_attribute("interpose.guest", "someone else");
                Before::Proceed
            }
            Some("span-budget") => {
                self.spans.extend(big_spans());
                Before::Proceed
            }
            Some("set-args") => {
                let _ = call.set_args(vec![Payload::json_string(&tag)]);
                Before::Proceed
            }
            Some("edit-detail") => {
                if let CallDetail::StartWorkflow(mut s) = call.detail() {
                    s.task_queue = format!("{}-{tag}", s.task_queue);
                    if let Err(e) = call.set_detail(CallDetail::StartWorkflow(s.clone())) {
                        log::error(&format!("edit refused: {e:?}"));
                    }
                    s.workflow_type = "Other".into();
                    if call.set_detail(CallDetail::StartWorkflow(s)).is_ok() {
                        return Before::Reject(Failure::new("workflow type edit was accepted"));
                    }
                }
                Before::Proceed
            }
            _ => Before::Proceed,
        }
    }

    fn after(&mut self, call: &Call, outcome: &Outcome) -> After {
        let cfg = self.cfg.get_or_insert_with(Cfg::read);
        let tag = &cfg.tag;
        if !cfg.workflow_only || interpose_guest::category_of(call.hook()).starts_with("workflow") {
            log::info(&format!(
                "{tag} after {}",
                interpose_guest::hook_name(call.hook())
            ));
        }
        let _ = core::hint::black_box(cfg.work(0));
        // Edits in `after` must be refused.
        if call.set_header("late", Payload::json_string("x")).is_ok() {
            return After::Fail(Failure::new("an edit in after was accepted"));
        }
        match cfg.after.as_deref() {
            Some("append") => {
                let prev = outcome
                    .payloads()
                    .first()
                    .and_then(|p| p.as_json_string())
                    .or_else(|| outcome.failure().map(|f| format!("failed:{}", f.message)))
                    .unwrap_or_default();
                After::Replace(vec![Payload::json_string(&format!("{prev}+{tag}"))])
            }
            Some("fail") => After::Fail(Failure::new(format!("failed by {tag}")).non_retryable()),
            Some("panic") => panic!("{tag} panics in after"),
            Some("fail-run") if interpose_guest::hook_name(call.hook()) == "execute-workflow" => {
                After::Fail(Failure::new(format!("failed by {tag}")).non_retryable())
            }
            Some("heartbeat") => {
                heartbeat(tag);
                After::Keep
            }
            _ => After::Keep,
        }
    }
}

#[interceptor(reads("trail"))]
impl Interceptor for Probe {
    fn before_client(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_client(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_workflow_inbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_workflow_outbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_activity_inbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_activity_inbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_activity_outbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_activity_outbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
}

interpose_guest::export!(Probe);
