//! `interpose:interceptor/config`: the guest's `[guest.config]` values.

use super::HostState;
use crate::model::wit::interpose::interceptor::config;

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.guest.config.get(&key).cloned())
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .guest
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
