//! Bindings generated from `wit/`: the WIT types the model re-exports, the host traits the
//! runtime implements and the guest exports it calls.
#![allow(missing_docs, unreachable_pub, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "interceptor",
    imports: { default: trappable },
    with: {
        "interpose:interceptor/types.call": CallRep,
        "interpose:interceptor/types.outcome": OutcomeRep,
        "interpose:interceptor/tracing.span": SpanRep,
    },
    additional_derives: [PartialEq, Eq],
});

/// Marker for the `call` resource: the host passes `borrow<call>` handles with rep 0 and
/// resolves them to the call of the instance's current hook.
pub struct CallRep;
/// Marker for the `outcome` resource, resolved like [`CallRep`].
pub struct OutcomeRep;
/// Marker for the `span` resource: the rep is the host's key for the span in the
/// instance's span table.
pub struct SpanRep;
