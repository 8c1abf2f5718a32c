//! Conversions between Temporal's types and the model, shared by every adapter: payloads,
//! headers (as protobuf `Header`s and as the SDK's header maps), failures and time.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use temporalio_common::error::ApplicationFailure;
use temporalio_common::protos::temporal::api::common::v1 as proto;

use crate::chain::{Failure, Payload};

/// A Temporal payload as a chain payload (metadata sorted by key, so equal payloads compare
/// equal).
pub(crate) fn payload_in(p: proto::Payload) -> Payload {
    let mut metadata: Vec<(String, Vec<u8>)> = p.metadata.into_iter().collect();
    metadata.sort();
    Payload {
        metadata,
        data: p.data,
    }
}

/// A chain payload as a Temporal payload.
pub(crate) fn payload_out(p: Payload) -> proto::Payload {
    proto::Payload {
        metadata: p.metadata.into_iter().collect(),
        data: p.data,
        ..Default::default()
    }
}

/// Header fields as chain headers.
pub(crate) fn headers_in(h: Option<&proto::Header>) -> BTreeMap<String, Payload> {
    h.map(|h| {
        h.fields
            .iter()
            .map(|(k, v)| (k.clone(), payload_in(v.clone())))
            .collect()
    })
    .unwrap_or_default()
}

/// The SDK's header map (workflow and activity inputs) as chain headers.
pub(crate) fn header_map_in(h: &HashMap<String, proto::Payload>) -> BTreeMap<String, Payload> {
    h.iter()
        .map(|(k, v)| (k.clone(), payload_in(v.clone())))
        .collect()
}

/// Chain headers as the SDK's header map.
pub(crate) fn header_map_out(h: &BTreeMap<String, Payload>) -> HashMap<String, proto::Payload> {
    h.iter()
        .map(|(k, v)| (k.clone(), payload_out(v.clone())))
        .collect()
}

/// A guest's failure as a Temporal application failure: the message (with the error type in
/// parentheses when there is one), retryable unless the guest said otherwise.
pub(crate) fn application_failure(f: &Failure) -> ApplicationFailure {
    let msg = if f.error_type.is_empty() {
        f.message.clone()
    } else {
        format!("{} ({})", f.message, f.error_type)
    };
    if f.non_retryable {
        ApplicationFailure::non_retryable(msg)
    } else {
        ApplicationFailure::new(msg)
    }
}

/// Nanoseconds since the Unix epoch (`None` before it or when the SDK gave no time).
pub(crate) fn unix_nanos(t: Option<SystemTime>) -> Option<u64> {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
}

/// Chain headers as a Temporal header (`None` when empty).
pub(crate) fn headers_out(h: &BTreeMap<String, Payload>) -> Option<proto::Header> {
    if h.is_empty() {
        return None;
    }
    Some(proto::Header {
        fields: h
            .iter()
            .map(|(k, v)| (k.clone(), payload_out(v.clone())))
            .collect(),
    })
}

/// A guest's failure as the gRPC status a client call fails with.
pub(crate) fn rejection_status(f: &Failure) -> temporalio_client::tonic::Status {
    let mut msg = format!("rejected by an interceptor: {}", f.message);
    if !f.error_type.is_empty() {
        msg.push_str(&format!(" (type {})", f.error_type));
    }
    if f.non_retryable {
        msg.push_str(" (non-retryable)");
    }
    temporalio_client::tonic::Status::permission_denied(msg)
}

use temporalio_common::data_converters::{
    GenericPayloadConverter, PayloadConversionError, PayloadConverter, SerializationContext,
    SerializationContextData, TemporalSerializable,
};

/// Run `f` with Temporal's default payload converter and an empty serialization context.
pub(crate) fn with_default_converter<R>(
    f: impl FnOnce(&PayloadConverter, &SerializationContext<'_>) -> R,
) -> R {
    let converter = PayloadConverter::default();
    let data = SerializationContextData::None;
    let ctx = SerializationContext::new(&data, &converter);
    f(&converter, &ctx)
}

/// A boxed SDK value (an activity result, a workflow output), serializable through the
/// payload converter: the SDK keeps its own serialization of these private, but their
/// `TemporalSerializable` supertrait is public.
struct Boxed<T: ?Sized>(Box<T>);

impl<T: ?Sized + TemporalSerializable> TemporalSerializable for Boxed<T> {
    fn as_serde(&self) -> Result<&dyn erased_serde::Serialize, PayloadConversionError> {
        self.0.as_serde()
    }
    fn to_payload(
        &self,
        ctx: &SerializationContext<'_>,
    ) -> Result<proto::Payload, PayloadConversionError> {
        self.0.to_payload(ctx)
    }
    fn to_payloads(
        &self,
        ctx: &SerializationContext<'_>,
    ) -> Result<Vec<proto::Payload>, PayloadConversionError> {
        self.0.to_payloads(ctx)
    }
}

/// The payloads of a boxed SDK value (empty when it does not serialize with the default
/// converter), handing the value back.
pub(crate) fn boxed_payloads<T: ?Sized + TemporalSerializable + 'static>(
    value: Box<T>,
) -> (Box<T>, Vec<Payload>) {
    let wrapped = Boxed(value);
    let payloads = with_default_converter(|c, ctx| c.to_payloads(ctx, &wrapped));
    let payloads = match payloads {
        Ok(p) => p.into_iter().map(payload_in).collect(),
        Err(e) => {
            tracing::debug!("a result is not visible to guests: {e}");
            Vec::new()
        }
    };
    (wrapped.0, payloads)
}
