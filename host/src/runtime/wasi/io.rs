//! `wasi:io` without blocking: a guest can never wait on the host; a stream or pollable that
//! would block traps instead.

use super::*;

pub(super) struct NonBlockingIo;

impl HasData for NonBlockingIo {
    type Data<'a> = NonBlocking<'a>;
}

/// `wasi:io` over an instance's resource table, without a tokio runtime (see
/// [`add_to_linker`]).
pub(super) struct NonBlocking<'a>(pub(super) &'a mut ResourceTable);

/// Polls that a ready future may take (a zero-length sleep yields once).
pub(super) const SETTLE_POLLS: usize = 4;

/// Error of a WASI call that would have blocked the worker's thread.
#[derive(Debug, thiserror::Error)]
#[error("the guest tried to block in `wasi:io` ({0}); guests cannot sleep or wait on I/O")]
pub(crate) struct WouldBlock(&'static str);

/// Run `fut` to completion if it completes without waiting; otherwise refuse.
///
/// No `catch_unwind`: every pollable a guest can reach is Interpose's own (in-memory streams,
/// [`Due`] timers), none needs a runtime, so a panic here is a host bug and must not pass
/// for the guest's failure (which `skip` would then hide).
pub(super) fn settle<F: Future>(what: &'static str, fut: F) -> wasmtime::Result<F::Output> {
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
pub(super) fn settle_stream<T, F: Future<Output = StreamResult<T>>>(
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
