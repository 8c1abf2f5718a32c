//! The seed's activity latency metrics: schedule-to-start is recorded before the activity
//! runs, schedule-to-close after it completes, both as histograms in milliseconds with the
//! workflow type as an attribute.

use interpose_guest::{After, Before, Call, Interceptor, Outcome, activity, interceptor, metrics};

#[derive(Default)]
struct LatencyMetrics;

fn millis(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

#[interceptor]
impl Interceptor for LatencyMetrics {
    fn before_execute_activity(&mut self, _call: &Call) -> Before {
        let info = activity::info();
        let attrs = [("workflow_type".to_string(), info.workflow_type.clone())];
        metrics::histogram_record(
            "custom_activity_schedule_to_start_latency",
            millis(
                info.started_time
                    .saturating_sub(info.current_attempt_scheduled_time),
            ),
            "ms",
            &attrs,
        );
        Before::Proceed
    }

    fn after_execute_activity(&mut self, _call: &Call, _outcome: &Outcome) -> After {
        let info = activity::info();
        let attrs = [("workflow_type".to_string(), info.workflow_type.clone())];
        metrics::histogram_record(
            "custom_activity_schedule_to_close_latency",
            millis(activity::now().saturating_sub(info.current_attempt_scheduled_time)),
            "ms",
            &attrs,
        );
        After::Keep
    }
}

interpose_guest::export!(LatencyMetrics);
