//! Virtualized WASI for guests that import it (Rust std on wasip2, Python, JS): no
//! environment, arguments, preopened files, sockets or name lookup; clocks and randomness
//! supplied by the host; stdout and stderr turned into log lines.

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

/// Clocks that read the host's notion of time for this instance: workflow time in workflow
/// hooks, the time the hook was entered otherwise.
struct VirtualClock(Arc<Shared>);

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.now.load(Ordering::Relaxed))
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.now.load(Ordering::Relaxed)
    }
}

/// The monotonic clock of one instance, which `wasi:clocks/monotonic-clock` (reads and
/// timers alike) answers from.
#[derive(Clone)]
enum Mono {
    /// The host's notion of time for the hook (see [`VirtualClock`]).
    Virtual(Arc<Shared>),
    /// Real elapsed time since the instance was made (`clock = "real"`, never in workflows).
    Real(std::time::Instant),
}

impl Mono {
    fn now(&self) -> u64 {
        match self {
            Mono::Virtual(s) => s.now.load(Ordering::Relaxed),
            Mono::Real(base) => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

/// `wasi:clocks/monotonic-clock` on the instance's own clock. wasmtime-wasi's timers are
/// real tokio timers whatever clock the context has, so a pollable kept from one hook
/// would answer `ready` from real time in the next: live true, in a fast replay false.
/// Here a pollable is ready exactly when the instance's clock has reached its deadline;
/// with the virtual clock that is workflow time, the same live and in replay.
struct Timers<'a> {
    table: &'a mut ResourceTable,
    mono: &'a Mono,
}

struct TimersData;

impl HasData for TimersData {
    type Data<'a> = Timers<'a>;
}

/// A timer pollable: ready once the instance's clock reads `at` or later. Not ready is
/// never waited on: `block` and `poll` on it are refused (see [`settle`]).
struct Due {
    mono: Mono,
    at: u64,
}

#[async_trait::async_trait]
impl Pollable for Due {
    async fn ready(&mut self) {
        if self.mono.now() < self.at {
            std::future::pending::<()>().await;
        }
    }
}

impl Timers<'_> {
    fn due(&mut self, at: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let due = self.table.push(Due {
            mono: self.mono.clone(),
            at,
        })?;
        wasmtime_wasi::p2::subscribe(self.table, due)
    }
}

impl monotonic_clock::Host for Timers<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.now())
    }
    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1)
    }
    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.due(when)
    }
    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self.mono.now().saturating_add(duration);
        self.due(at)
    }
}

/// stdout / stderr of a guest, split into lines and sent to the log sink.
#[derive(Clone)]
struct LogStream {
    guest: Arc<str>,
    /// 0 for stdout, 1 for stderr: the index of its line buffer in [`Shared::pending`].
    which: usize,
    sink: Arc<dyn LogSink>,
    shared: Arc<Shared>,
}

/// The level of each stream's lines, by [`LogStream::which`].
const LEVELS: [tracing::Level; 2] = [tracing::Level::INFO, tracing::Level::WARN];

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 uses this; Interpose links WASIp2 only.
        Box::new(tokio::io::sink())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LogOutput {
            stream: self.clone(),
        })
    }
}

/// One `output-stream` handle on stdout or stderr. However many handles a guest opens,
/// each stream has one line buffer per instance (in [`Shared`]), at most [`MAX_LINE`]
/// bytes, emitted at the end of the call that wrote it.
struct LogOutput {
    stream: LogStream,
}

/// Longest line kept; the rest of a longer line is cut.
const MAX_LINE: usize = 8 * 1024;

fn emit(sink: &dyn LogSink, guest: &str, shared: &Shared, level: tracing::Level, line: &[u8]) {
    if shared.suppress.load(Ordering::Relaxed) {
        return;
    }
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]);
    sink.log(guest, shared_hook(shared), level, text.trim_end());
}

/// Drop what the guest printed without a final newline (output at instantiation, which is
/// no hook's).
pub(crate) fn discard_output(shared: &Shared) {
    for pending in &shared.pending {
        pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Emit stream `which`'s unfinished line, if any.
fn emit_pending(sink: &dyn LogSink, guest: &str, shared: &Shared, which: usize) {
    let line = std::mem::take(
        &mut *shared.pending[which]
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    if !line.is_empty() {
        emit(sink, guest, shared, LEVELS[which], &line);
    }
}

/// Emit what the guest printed without a final newline in the call that just ended, so
/// that every line is attributed to the hook that printed it and nothing waits in host
/// memory between calls.
pub(crate) fn flush_output(state: &HostState) {
    for which in 0..LEVELS.len() {
        emit_pending(&*state.guest.logs, &state.guest.name, &state.shared, which);
    }
}

#[async_trait::async_trait]
impl Pollable for LogOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for LogOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let s = &self.stream;
        let trap = |e| StreamError::Trap(wasmtime::Error::new(e));
        let mut pending = s.shared.pending[s.which]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Counted against the guest's output limit like its log lines: the write is an
        // item, and so is every line it ends. Past the limit, nothing more is emitted.
        if let Err(e) = s.shared.charge(bytes.len() as u64) {
            pending.clear();
            return Err(trap(e));
        }
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            let room = MAX_LINE.saturating_sub(pending.len());
            pending.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.ends_with(b"\n") {
                if let Err(e) = s.shared.charge(0) {
                    // Past the limit: nothing more of this call is emitted.
                    pending.clear();
                    return Err(trap(e));
                }
                let line = std::mem::take(&mut *pending);
                emit(&*s.sink, &s.guest, &s.shared, LEVELS[s.which], &line);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        let s = &self.stream;
        emit_pending(&*s.sink, &s.guest, &s.shared, s.which);
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

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

struct NonBlockingIo;

impl HasData for NonBlockingIo {
    type Data<'a> = NonBlocking<'a>;
}

/// `wasi:io` over an instance's resource table, without a tokio runtime (see
/// [`add_to_linker`]).
struct NonBlocking<'a>(&'a mut ResourceTable);

/// Polls that a ready future may take (a zero-length sleep yields once).
const SETTLE_POLLS: usize = 4;

/// Error of a WASI call that would have blocked the worker's thread.
#[derive(Debug, thiserror::Error)]
#[error("the guest tried to block in `wasi:io` ({0}); guests cannot sleep or wait on I/O")]
pub(crate) struct WouldBlock(&'static str);

/// Run `fut` to completion if it completes without waiting; otherwise refuse.
///
/// No `catch_unwind`: every pollable a guest can reach is Interpose's own (in-memory streams,
/// [`Due`] timers), none needs a runtime, so a panic here is a host bug and must not pass
/// for the guest's failure (which `skip` would then hide).
fn settle<F: Future>(what: &'static str, fut: F) -> wasmtime::Result<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    (0..SETTLE_POLLS)
        .find_map(|_| match fut.as_mut().poll(&mut cx) {
            TaskPoll::Ready(v) => Some(v),
            TaskPoll::Pending => None,
        })
        .ok_or_else(|| WouldBlock(what).into())
}

/// [`settle`] for calls whose own result is a `StreamResult`.
fn settle_stream<T, F: Future<Output = StreamResult<T>>>(
    what: &'static str,
    fut: F,
) -> StreamResult<T> {
    settle(what, fut).map_err(StreamError::Trap)?
}

impl sync::io::streams::Host for NonBlocking<'_> {
    fn convert_stream_error(
        &mut self,
        err: StreamError,
    ) -> wasmtime::Result<sync::io::streams::StreamError> {
        sync::io::streams::Host::convert_stream_error(self.0, err)
    }
}

impl sync::io::streams::HostOutputStream for NonBlocking<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        settle(
            "drop output-stream",
            async_io::streams::HostOutputStream::drop(self.0, stream),
        )?
    }
    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        sync::io::streams::HostOutputStream::check_write(self.0, stream)
    }
    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        sync::io::streams::HostOutputStream::write(self.0, stream, bytes)
    }
    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        settle_stream(
            "blocking-write-and-flush",
            async_io::streams::HostOutputStream::blocking_write_and_flush(self.0, stream, bytes),
        )
    }
    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        settle_stream(
            "blocking-write-zeroes-and-flush",
            async_io::streams::HostOutputStream::blocking_write_zeroes_and_flush(
                self.0, stream, len,
            ),
        )
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        sync::io::streams::HostOutputStream::subscribe(self.0, stream)
    }
    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        sync::io::streams::HostOutputStream::write_zeroes(self.0, stream, len)
    }
    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        sync::io::streams::HostOutputStream::flush(self.0, stream)
    }
    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        settle_stream(
            "blocking-flush",
            async_io::streams::HostOutputStream::blocking_flush(
                self.0,
                Resource::new_borrow(stream.rep()),
            ),
        )
    }
    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        sync::io::streams::HostOutputStream::splice(self.0, dst, src, len)
    }
    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        settle_stream(
            "blocking-splice",
            async_io::streams::HostOutputStream::blocking_splice(self.0, dst, src, len),
        )
    }
}

impl sync::io::streams::HostInputStream for NonBlocking<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        settle(
            "drop input-stream",
            async_io::streams::HostInputStream::drop(self.0, stream),
        )?
    }
    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        sync::io::streams::HostInputStream::read(self.0, stream, len)
    }
    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        settle_stream(
            "blocking-read",
            async_io::streams::HostInputStream::blocking_read(self.0, stream, len),
        )
    }
    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        sync::io::streams::HostInputStream::skip(self.0, stream, len)
    }
    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        settle_stream(
            "blocking-skip",
            async_io::streams::HostInputStream::blocking_skip(self.0, stream, len),
        )
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        sync::io::streams::HostInputStream::subscribe(self.0, stream)
    }
}

impl sync::io::poll::Host for NonBlocking<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        // A list may repeat one handle: without a cap its length is bounded only by the
        // guest's memory, and polling it is host work that fuel does not meter.
        if pollables.len() > MAX_WASI_RESOURCES {
            wasmtime::bail!(
                "`wasi:io/poll.poll` of {} pollables; at most {MAX_WASI_RESOURCES} are allowed",
                pollables.len()
            );
        }
        settle("poll", async_io::poll::Host::poll(self.0, pollables))?
    }
}

impl sync::io::poll::HostPollable for NonBlocking<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        settle(
            "pollable.ready",
            async_io::poll::HostPollable::ready(self.0, pollable),
        )?
    }
    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        settle(
            "pollable.block",
            async_io::poll::HostPollable::block(self.0, pollable),
        )?
    }
    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        sync::io::poll::HostPollable::drop(self.0, pollable)
    }
}
