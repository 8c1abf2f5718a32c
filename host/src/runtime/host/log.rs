//! `interpose:interceptor/log`: guest log lines into the host's log sink, charged as output,
//! dropped in replay.

use super::{HostState, MAX_KEPT_ERROR_LOG};
use crate::model::wit::interpose::interceptor::log;
use crate::services::Scope;

pub(crate) fn level_of(level: log::Level) -> tracing::Level {
    match level {
        log::Level::Trace => tracing::Level::TRACE,
        log::Level::Debug => tracing::Level::DEBUG,
        log::Level::Info => tracing::Level::INFO,
        log::Level::Warn => tracing::Level::WARN,
        log::Level::Error => tracing::Level::ERROR,
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.charge_output(message.len() as u64)?;
        if level == log::Level::Error {
            // Kept for trap messages: a Rust guest's panic message arrives this way. Cut on
            // a character boundary: the guest chooses the text.
            let cut = message.floor_char_boundary(MAX_KEPT_ERROR_LOG);
            self.cur.last_error_log = Some(message[..cut].to_owned());
        }
        if self.suppressed() {
            return Ok(());
        }
        self.guest
            .logs
            .log(&self.guest.name, self.hook(), level_of(level), &message);
        Ok(())
    }

    fn enabled(&mut self, level: log::Level) -> wasmtime::Result<bool> {
        // In workflow hooks, a constant: a guest that builds messages only when they are
        // kept would otherwise spend different fuel live and in replay, or on workers with
        // different log filters, and could fail at a different point.
        if matches!(self.scope, Scope::Workflow(_)) {
            return Ok(true);
        }
        Ok(self.guest.logs.enabled(level_of(level)))
    }
}
