//! Virtualized WASI for guests that import it (Rust std on wasip2, Python, JS): no
//! environment, arguments, preopened files, sockets or name lookup; clocks and randomness
//! supplied by the host; stdout and stderr turned into log lines.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use super::host::{HostState, Shared, shared_hook};
use crate::services::LogSink;

/// WASI context and resource table of one instance.
pub(crate) struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
}

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

/// The WASI interfaces a guest may import. Anything else is refused at load.
pub(crate) fn allowed_wasi(interface: &str) -> Result<(), &'static str> {
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
    if !ALLOWED.contains(&unversioned) {
        return Err(if unversioned.starts_with("wasi:sockets") {
            "guests get no network"
        } else if unversioned.starts_with("wasi:http") {
            "guests get no network (HTTP)"
        } else {
            "not part of the sandbox's virtualized WASI (cli, clocks, random, io, an empty filesystem)"
        });
    }
    match version {
        Some(v) if v.starts_with("0.2.") => Ok(()),
        _ => Err("only WASI 0.2.x (wasip2) is supported"),
    }
}

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

/// stdout / stderr of a guest, split into lines and sent to the log sink.
#[derive(Clone)]
struct LogStream {
    guest: Arc<str>,
    level: tracing::Level,
    sink: Arc<dyn LogSink>,
    shared: Arc<Shared>,
}

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
            pending: Vec::new(),
        })
    }
}

struct LogOutput {
    stream: LogStream,
    pending: Vec<u8>,
}

/// Longest line kept; the rest of a longer line is cut.
const MAX_LINE: usize = 8 * 1024;

impl LogOutput {
    fn emit(&mut self, line: &[u8]) {
        if self.stream.shared.suppress.load(Ordering::Relaxed) {
            return;
        }
        let text = String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]);
        let hook = shared_hook(&self.stream.shared);
        self.stream
            .sink
            .log(&self.stream.guest, hook, self.stream.level, text.trim_end());
    }
}

#[async_trait::async_trait]
impl Pollable for LogOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for LogOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            if chunk.ends_with(b"\n") {
                if self.pending.is_empty() {
                    self.emit(chunk);
                } else {
                    self.pending.extend_from_slice(chunk);
                    let line = std::mem::take(&mut self.pending);
                    self.emit(&line);
                }
            } else if self.pending.len() < MAX_LINE {
                self.pending.extend_from_slice(chunk);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl Drop for LogOutput {
    fn drop(&mut self) {
        let _: Result<(), StreamError> = self.flush();
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
    let out = |level| LogStream {
        guest: guest.clone(),
        level,
        sink: sink.clone(),
        shared: shared.clone(),
    };
    b.stdout(out(tracing::Level::INFO))
        .stderr(out(tracing::Level::WARN))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .secure_random(setup.random.clone())
        .insecure_random(setup.random)
        .insecure_random_seed(setup.insecure_seed);
    if !setup.real_clock {
        b.wall_clock(VirtualClock(shared.clone()))
            .monotonic_clock(VirtualClock(shared.clone()));
    }
    WasiState {
        ctx: b.build(),
        table: ResourceTable::new(),
    }
}
