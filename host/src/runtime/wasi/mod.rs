//! Virtualized WASI for guests that import it (Rust std on wasip2, Python, JS): no
//! environment, arguments, preopened files, sockets or name lookup; clocks and randomness
//! supplied by the host; stdout and stderr turned into log lines.

mod clocks;
mod io;
mod stdio;

use clocks::*;
use io::*;
use stdio::*;
pub(crate) use stdio::{discard_output, flush_output};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll as TaskPoll, Waker};
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::io as async_io;
use wasmtime_wasi::p2::bindings::sync;
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, OutputStream, Pollable, StreamError, StreamResult,
};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use super::host::{HostState, Shared, shared_hook};
use crate::services::LogSink;

/// WASI context and resource table of one instance.
pub(crate) struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    mono: Mono,
}

/// Most WASI resources (streams, pollables) one instance may hold at once. The table lives
/// in host memory, outside the guest's memory cap, so its size is capped too; a guest that
/// passes the cap gets a trap.
pub(crate) const MAX_WASI_RESOURCES: usize = 4096;

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let w = self
            .wasi
            .as_mut()
            .expect("WASI is linked only for guests that have a context");
        WasiCtxView {
            ctx: &mut w.ctx,
            table: &mut w.table,
        }
    }
}

/// How the sandbox answers one WASI import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provision {
    /// Linked to the virtualized implementation.
    Virtual,
    /// Linked to stubs that trap when called: `wasi:sockets`, which language runtimes
    /// (CPython, for one) import whether or not the guest's code uses the network. The guest
    /// loads; opening a socket traps with "guests get no network".
    NoNetwork,
}

/// The WASI interfaces a guest may import. Anything else is refused at load.
pub(crate) fn allowed_wasi(interface: &str) -> Result<Provision, &'static str> {
    const ALLOWED: &[&str] = &[
        "wasi:cli/environment",
        "wasi:cli/exit",
        "wasi:cli/stdin",
        "wasi:cli/stdout",
        "wasi:cli/stderr",
        "wasi:cli/terminal-input",
        "wasi:cli/terminal-output",
        "wasi:cli/terminal-stdin",
        "wasi:cli/terminal-stdout",
        "wasi:cli/terminal-stderr",
        "wasi:clocks/wall-clock",
        "wasi:clocks/monotonic-clock",
        "wasi:random/random",
        "wasi:random/insecure",
        "wasi:random/insecure-seed",
        "wasi:io/error",
        "wasi:io/poll",
        "wasi:io/streams",
        "wasi:filesystem/types",
        "wasi:filesystem/preopens",
    ];
    let unversioned = interface.split('@').next().unwrap_or(interface);
    let version = interface.split_once('@').map(|(_, v)| v);
    let provision = if ALLOWED.contains(&unversioned) {
        Provision::Virtual
    } else if unversioned.starts_with("wasi:sockets/") {
        Provision::NoNetwork
    } else if unversioned.starts_with("wasi:http") {
        return Err("guests get no network (HTTP)");
    } else {
        return Err(
            "not part of the sandbox's virtualized WASI (cli, clocks, random, io, an empty filesystem)",
        );
    };
    match version {
        Some(v) if v.starts_with("0.2.") => Ok(provision),
        _ => Err("only WASI 0.2.x (wasip2) is supported"),
    }
}

/// What a no-network stub traps with.
pub(crate) const NO_NETWORK: &str = "guests get no network";

/// Satisfy the `wasi:sockets` imports of `component` with functions that trap (see
/// [`Provision::NoNetwork`]); every other import must already be in `linker`.
pub(crate) fn stub_network(
    linker: &mut Linker<HostState>,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<()> {
    use wasmtime::component::types::ComponentItem;
    let engine = component.engine().clone();
    let ty = component.component_type();
    // Resources of provided interfaces (`wasi:io`'s pollable and streams) that the sockets
    // interfaces `use`: already defined, and they must stay the same type.
    let provided: Vec<_> = ty
        .imports(&engine)
        .filter(|(name, _)| allowed_wasi(name) == Ok(Provision::Virtual))
        .filter_map(|(_, item)| match item.ty {
            ComponentItem::ComponentInstance(i) => Some(i),
            _ => None,
        })
        .flat_map(|i| {
            i.exports(&engine)
                .filter_map(|(_, item)| match item.ty {
                    ComponentItem::Resource(r) => Some(r),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (name, item) in ty.imports(&engine) {
        if allowed_wasi(name) != Ok(Provision::NoNetwork) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let mut stubs = linker.instance(name)?;
        for (export, item) in instance.exports(&engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let what = format!("{NO_NETWORK}: `{name}#{export}` was called");
                    stubs.func_new(export, move |_, _, _, _| {
                        Err(wasmtime::Error::msg(what.clone()))
                    })?;
                }
                ComponentItem::Resource(r) if !provided.contains(&r) => {
                    stubs.resource(
                        export,
                        wasmtime::component::ResourceType::host::<NoNetworkResource>(),
                        |_, _| Ok(()),
                    )?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The host type of every `wasi:sockets` resource: none is ever created.
struct NoNetworkResource;

/// How the WASI context of one instance is built.
pub(crate) struct WasiSetup {
    pub(crate) real_clock: bool,
    pub(crate) random: ChaCha8Rng,
    pub(crate) insecure_seed: u128,
}

pub(crate) fn build(
    setup: WasiSetup,
    guest: &Arc<str>,
    sink: &Arc<dyn LogSink>,
    shared: &Arc<Shared>,
) -> WasiState {
    let mut b = WasiCtx::builder();
    let out = |which| LogStream {
        guest: guest.clone(),
        which,
        sink: sink.clone(),
        shared: shared.clone(),
    };
    b.stdout(out(0))
        .stderr(out(1))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .secure_random(setup.random.clone())
        .insecure_random(setup.random)
        .insecure_random_seed(setup.insecure_seed);
    let mono = if setup.real_clock {
        Mono::Real(std::time::Instant::now())
    } else {
        b.wall_clock(VirtualClock(shared.clone()))
            .monotonic_clock(VirtualClock(shared.clone()));
        Mono::Virtual(shared.clone())
    };
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_WASI_RESOURCES);
    WasiState {
        ctx: b.build(),
        table,
        mono,
    }
}

/// Link the virtualized WASI (p2, synchronous bindings) with `wasi:io` replaced by
/// [`NonBlocking`] and `wasi:clocks/monotonic-clock` by [`Timers`].
///
/// wasmtime-wasi's synchronous `wasi:io` runs its blocking calls (`blocking-write-and-flush`,
/// which every `println!` ends in; `blocking-read`; `poll`; `pollable.block`; stream drops)
/// through `Handle::block_on` of the current tokio runtime, which panics when the guest is
/// called from a tokio task — as every Temporal client, workflow and activity hook is.
/// Interpose's streams are in-memory and always ready, so these calls never need a runtime:
/// they are settled on the spot, and a call that would really wait (a guest sleeping or
/// waiting on a clock) is refused with a trap instead of blocking the worker's thread
/// outside the reach of fuel and deadlines.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    sync::io::poll::add_to_linker::<HostState, NonBlockingIo>(linker, |t| {
        NonBlocking(t.ctx().table)
    })?;
    sync::io::streams::add_to_linker::<HostState, NonBlockingIo>(linker, |t| {
        NonBlocking(t.ctx().table)
    })?;
    monotonic_clock::add_to_linker::<HostState, TimersData>(linker, |t| {
        let w = t
            .wasi
            .as_mut()
            .expect("WASI is linked only for guests that have a context");
        Timers {
            table: &mut w.table,
            mono: &w.mono,
        }
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
