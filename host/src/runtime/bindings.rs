//! Host bindings generated from `wit/`.
#![allow(missing_docs, unreachable_pub, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "interceptor",
    imports: { default: trappable },
    with: {
        "interpose:interceptor/types.call": crate::runtime::host::CallRep,
        "interpose:interceptor/types.outcome": crate::runtime::host::OutcomeRep,
    },
    additional_derives: [PartialEq, Eq],
});
