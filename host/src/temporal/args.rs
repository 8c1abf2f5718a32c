//! The argument bridge. The Temporal Rust SDK decodes workflow and activity arguments into
//! typed values before interceptors run, so a generic interceptor cannot see them. Tell
//! Interpose the types — `ArgTypes::default().activity(Shop::charge).workflow(Order::run)`,
//! the same definitions you register with the worker — and guests see those arguments as
//! payloads (Temporal's default converter) and can replace them (`call.set-args`).
//! Unregistered types keep the documented gap: no arguments visible, `set-args` refused.

use std::any::Any;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use temporalio_common::data_converters::{
    GenericPayloadConverter, TemporalDeserializable, TemporalSerializable,
};
use temporalio_common::{ActivityDefinition, WorkflowDefinition};
use temporalio_sdk::interceptors::ExecuteActivityInput;
use temporalio_workflow::workflow_interceptors::{
    ExecuteWorkflowInput, ScheduleActivityInput, ScheduleLocalActivityInput,
};

use super::convert::{payload_in, payload_out, with_default_converter};
use crate::chain::Payload;

/// Encodes and decodes one argument type, reached through each SDK input's typed accessors.
pub(crate) trait Codec: Send + Sync {
    fn activity_args(&self, i: &ExecuteActivityInput) -> Option<Vec<Payload>>;
    fn set_activity_args(
        &self,
        i: &mut ExecuteActivityInput,
        p: Vec<Payload>,
    ) -> Result<(), String>;
    fn schedule_args(&self, i: &ScheduleActivityInput) -> Option<Vec<Payload>>;
    fn set_schedule_args(
        &self,
        i: &mut ScheduleActivityInput,
        p: Vec<Payload>,
    ) -> Result<(), String>;
    fn local_args(&self, i: &ScheduleLocalActivityInput) -> Option<Vec<Payload>>;
    fn set_local_args(
        &self,
        i: &mut ScheduleLocalActivityInput,
        p: Vec<Payload>,
    ) -> Result<(), String>;
    fn workflow_args(&self, i: &ExecuteWorkflowInput) -> Option<Vec<Payload>>;
    fn set_workflow_args(
        &self,
        i: &mut ExecuteWorkflowInput,
        p: Vec<Payload>,
    ) -> Result<(), String>;
}

struct Typed<T>(PhantomData<fn() -> T>);

fn encode<T: TemporalSerializable + 'static>(value: Option<&T>) -> Option<Vec<Payload>> {
    let value = value?;
    with_default_converter(|c, ctx| c.to_payloads(ctx, value).ok())
        .map(|p| p.into_iter().map(payload_in).collect())
}

fn replace<T: TemporalDeserializable + 'static>(
    slot: Option<&mut T>,
    payloads: Vec<Payload>,
) -> Result<(), String> {
    let slot =
        slot.ok_or_else(|| "the arguments have another type than the registered one".to_owned())?;
    let value: T = with_default_converter(|c, ctx| {
        c.from_payloads(ctx, payloads.into_iter().map(payload_out).collect())
    })
    .map_err(|e| format!("the new arguments do not decode: {e}"))?;
    *slot = value;
    Ok(())
}

macro_rules! codec_pair {
    ($get:ident, $set:ident, $input:ty, $ref:ident, $mut:ident) => {
        fn $get(&self, i: &$input) -> Option<Vec<Payload>> {
            encode(i.$ref::<T>())
        }
        fn $set(&self, i: &mut $input, p: Vec<Payload>) -> Result<(), String> {
            replace(i.$mut::<T>(), p)
        }
    };
}

impl<T> Codec for Typed<T>
where
    T: TemporalSerializable + TemporalDeserializable + Any + 'static,
{
    codec_pair!(
        activity_args,
        set_activity_args,
        ExecuteActivityInput,
        args_ref,
        args_mut
    );
    codec_pair!(
        schedule_args,
        set_schedule_args,
        ScheduleActivityInput,
        input_ref,
        input_mut
    );
    codec_pair!(
        local_args,
        set_local_args,
        ScheduleLocalActivityInput,
        input_ref,
        input_mut
    );
    codec_pair!(
        workflow_args,
        set_workflow_args,
        ExecuteWorkflowInput,
        input_ref,
        input_mut
    );
}

/// Argument types of activities and workflows, by type name.
#[derive(Clone, Default)]
pub struct ArgTypes {
    activities: HashMap<String, Arc<dyn Codec>>,
    workflows: HashMap<String, Arc<dyn Codec>>,
}

impl std::fmt::Debug for ArgTypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgTypes")
            .field("activities", &self.activities.keys().collect::<Vec<_>>())
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ArgTypes {
    /// Learn an activity's argument type from its definition (e.g. `Shop::charge`).
    #[must_use]
    pub fn activity<A: ActivityDefinition>(mut self, definition: A) -> Self
    where
        A::Input: Any,
    {
        self.activities.insert(
            definition.name().to_owned(),
            Arc::new(Typed::<A::Input>(PhantomData)),
        );
        self
    }

    /// Learn a workflow's argument type from its definition (e.g. `Order::run`).
    #[must_use]
    pub fn workflow<W: WorkflowDefinition>(mut self, definition: W) -> Self
    where
        W::Input: Any,
    {
        self.workflows.insert(
            definition.name().to_owned(),
            Arc::new(Typed::<W::Input>(PhantomData)),
        );
        self
    }

    pub(crate) fn for_activity(&self, activity_type: &str) -> Option<&Arc<dyn Codec>> {
        self.activities.get(activity_type)
    }

    pub(crate) fn for_workflow(&self, workflow_type: &str) -> Option<&Arc<dyn Codec>> {
        self.workflows.get(workflow_type)
    }
}
