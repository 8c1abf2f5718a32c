//! stdout and stderr as log lines: buffered per line, capped, charged to the guest's output
//! budget, attributed to the hook that wrote them.

use super::*;

/// stdout / stderr of a guest, split into lines and sent to the log sink.
#[derive(Clone)]
pub(super) struct LogStream {
    pub(super) guest: Arc<str>,
    /// 0 for stdout, 1 for stderr: the index of its line buffer in [`Shared::pending`].
    pub(super) which: usize,
    pub(super) sink: Arc<dyn LogSink>,
    pub(super) shared: Arc<Shared>,
}

/// The level of each stream's lines, by [`LogStream::which`].
pub(super) const LEVELS: [tracing::Level; 2] = [tracing::Level::INFO, tracing::Level::WARN];

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
pub(super) struct LogOutput {
    pub(super) stream: LogStream,
}

/// Longest line kept; the rest of a longer line is cut.
pub(super) const MAX_LINE: usize = 8 * 1024;

pub(super) fn emit(
    sink: &dyn LogSink,
    guest: &str,
    shared: &Shared,
    level: tracing::Level,
    line: &[u8],
) {
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
pub(super) fn emit_pending(sink: &dyn LogSink, guest: &str, shared: &Shared, which: usize) {
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
