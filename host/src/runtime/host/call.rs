//! The `call` and `outcome` resources: what a guest reads of the call beyond what its hook
//! is handed, and the detail and argument edits it makes (validated, charged, undone on
//! failure). Header edits travel with the `before` decision (`runtime::instance`).

use wasmtime::component::Resource;

use super::{CallRep, HostState, OutcomeRep, Undo};
use crate::model::wit::interpose::interceptor::types;
use crate::model::{CallDetail, Hook, Outcome, Payload};

fn detail_size(d: &CallDetail) -> u64 {
    // An upper bound is enough for the output limit: the debug form holds every string.
    // Counted as it is written, never allocated (escaping can make it several times the
    // size of what the guest passed).
    struct Count(u64);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 = self.0.saturating_add(s.len() as u64);
            Ok(())
        }
    }
    let mut n = Count(0);
    let _ = std::fmt::write(&mut n, format_args!("{d:?}"));
    n.0
}

impl types::HostCall for HostState {
    fn hook(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Hook> {
        Ok(self.cur.hook)
    }

    fn detail(&mut self, _: Resource<CallRep>) -> wasmtime::Result<CallDetail> {
        Ok(self.cur.call.detail.clone())
    }

    fn set_detail(
        &mut self,
        _: Resource<CallRep>,
        detail: CallDetail,
    ) -> wasmtime::Result<Result<(), types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if !self.cur.hook.detail_editable() {
            return Ok(Err(types::EditError::NotSupported(format!(
                "the detail of hook `{}` is not editable",
                self.cur.hook
            ))));
        }
        if detail.hook() != self.cur.hook {
            return Ok(Err(types::EditError::Invalid(format!(
                "detail is for hook `{}`, but this call is `{}`",
                detail.hook(),
                self.cur.hook
            ))));
        }
        if detail.fixed_fields() != self.cur.call.detail.fixed_fields() {
            return Ok(Err(types::EditError::Invalid(
                "type and handler names cannot be edited".into(),
            )));
        }
        self.charge_output(detail_size(&detail))?;
        let old = std::mem::replace(&mut self.cur.call.detail, detail);
        self.cur.undo.push(Undo::Detail(old));
        Ok(Ok(()))
    }

    fn header(&mut self, _: Resource<CallRep>, key: String) -> wasmtime::Result<Option<Payload>> {
        Ok(self.cur.call.headers.get(&key).cloned())
    }

    fn header_keys(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Vec<String>> {
        Ok(self.cur.call.headers.keys().cloned().collect())
    }

    fn arg_count(&mut self, _: Resource<CallRep>) -> wasmtime::Result<u32> {
        Ok(self.cur.call.args.as_ref().map_or(0, |a| a.len() as u32))
    }

    fn arg(&mut self, _: Resource<CallRep>, index: u32) -> wasmtime::Result<Option<Payload>> {
        Ok(self
            .cur
            .call
            .args
            .as_ref()
            .and_then(|a| a.get(index as usize))
            .cloned())
    }

    fn args(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Vec<Payload>> {
        Ok(self.cur.call.args.clone().unwrap_or_default())
    }

    fn set_args(
        &mut self,
        _: Resource<CallRep>,
        args: Vec<Payload>,
    ) -> wasmtime::Result<Result<(), types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if self.cur.call.args.is_none() {
            return Ok(Err(types::EditError::NotSupported(format!(
                "hook `{}` carries no arguments",
                self.cur.hook
            ))));
        }
        let max = self.cur.hook.properties().max_args;
        if args.len() > max {
            return Ok(Err(types::EditError::Invalid(format!(
                "hook `{}` takes at most {max} argument(s); {} were given",
                self.cur.hook,
                args.len()
            ))));
        }
        let bytes = crate::model::encoded_bytes(&args);
        let max_bytes = self.cur.hook.properties().max_arg_bytes;
        if bytes > max_bytes {
            return Ok(Err(types::EditError::Invalid(format!(
                "hook `{}` takes at most {max_bytes} bytes of arguments; {bytes} were given",
                self.cur.hook
            ))));
        }
        self.charge_payloads(&args)?;
        let old = self.cur.call.args.replace(args);
        self.cur.undo.push(Undo::Args(old));
        Ok(Ok(()))
    }

    fn drop(&mut self, _: Resource<CallRep>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl types::HostOutcome for HostState {
    fn payloads(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<Vec<Payload>> {
        Ok(match self.outcome()? {
            Outcome::Ok(p) => p.clone(),
            Outcome::Err(_) => Vec::new(),
        })
    }

    fn drop(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl types::Host for HostState {}
