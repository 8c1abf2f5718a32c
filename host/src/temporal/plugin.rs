//! Interpose as one Temporal SDK plugin (feature `plugin`): the seed's "register via a
//! plugin", where the worker uses the client's interceptors.
//!
//! [`Interpose::plugin`] returns a `ClientAndWorkerPlugin` for `ClientOptions::plugin`. When
//! the client is created the plugin puts the Wasm client interceptor first in the client's
//! interceptors; every worker built from that client (`Worker::new`, through the SDK's
//! `apply_worker_plugins`) gets the workflow and activity interceptors, first in their lists,
//! and so does a `WorkflowReplayer` the plugin is registered on. The chain, its order and its
//! guests' instances are the same ones the explicit registration gives.
//!
//! The SDK's plugin API is behind its `experimental` feature, which this feature turns on.
//! Without it, register the interceptors explicitly ([`Interpose::client_interceptor`],
//! [`Interpose::workflow_interceptor`], [`Interpose::activity_interceptor`]).

use std::sync::{Arc, OnceLock};

use temporalio_client::{
    Client, ClientInterceptor, ClientOptions, ClientPlugin, Connection, PluginError,
};
use temporalio_sdk::interceptors::ActivityInboundInterceptor;
use temporalio_sdk::workflow_interceptors::WorkflowInterceptorConstructor;
use temporalio_sdk::workflow_replayer::WorkflowReplayerOptions;
use temporalio_sdk::{ClientAndWorkerPlugin, SimplePlugin, WorkerOptions, WorkerPlugin};

use super::{Interpose, WasmActivityInterceptor};

/// The plugin's name, as Temporal records it (worker heartbeats, diagnostics).
pub const NAME: &str = "interpose";

/// `existing` with `ours` in front: the first registered interceptor is the outermost.
fn first<T: Clone>(ours: T) -> impl Fn(Option<Vec<T>>) -> Vec<T> + Send + Sync + 'static
where
    T: Send + Sync + 'static,
{
    move |existing| {
        let mut all = vec![ours.clone()];
        all.extend(existing.unwrap_or_default());
        all
    }
}

/// The plugin value behind [`Interpose::plugin`].
struct InterposePlugin {
    inner: SimplePlugin,
    connection: Connection,
    heartbeats: Arc<OnceLock<Client>>,
}

impl ClientPlugin for InterposePlugin {
    fn name(&self) -> &str {
        NAME
    }

    fn configure_client_options(&self, options: &mut ClientOptions) -> Result<(), PluginError> {
        ClientPlugin::configure_client_options(&self.inner, options)?;
        // Heartbeats go through a client of the same connection and namespace, without
        // interceptors (a heartbeat never runs the client chain).
        let heartbeats = Client::new(
            self.connection.clone(),
            ClientOptions::new(options.namespace.clone()).build(),
        )
        .map_err(PluginError::new)?;
        let _ = self.heartbeats.set(heartbeats);
        Ok(())
    }
}

impl WorkerPlugin for InterposePlugin {
    fn name(&self) -> &str {
        NAME
    }

    fn configure_worker_options(&self, options: &mut WorkerOptions) -> Result<(), PluginError> {
        self.inner.configure_worker_options(options)
    }

    fn configure_workflow_replayer_options(
        &self,
        options: &mut WorkflowReplayerOptions,
    ) -> Result<(), PluginError> {
        self.inner.configure_workflow_replayer_options(options)
    }
}

impl Interpose {
    /// The whole chain as one Temporal SDK plugin, for `ClientOptions::plugin`. The client
    /// built with it runs the client chain, and workers built from that client run the
    /// workflow and activity chains; do not also register the plugin (or the interceptors)
    /// on the worker, or the chain runs twice. `connection` is the client's connection:
    /// guest heartbeats are recorded through it.
    pub fn plugin(&self, connection: &Connection) -> ClientAndWorkerPlugin {
        self.warn_not_in_rust_sdk(&[crate::model::Category::ActivityOutbound]);
        let heartbeats = Arc::new(OnceLock::new());
        let client: Arc<dyn ClientInterceptor> = self.client_interceptor();
        let activity: Arc<dyn ActivityInboundInterceptor> = Arc::new(
            WasmActivityInterceptor::new(self.chain.clone())
                .with_arg_types(self.args.clone())
                .heartbeats_late(heartbeats.clone()),
        );
        let workflow: WorkflowInterceptorConstructor = self.workflow_interceptor();
        let inner = SimplePlugin::builder(NAME)
            .client_interceptors(first(client))
            .activity_inbound_interceptors(first(activity))
            .workflow_interceptors(first(workflow))
            .build();
        ClientAndWorkerPlugin::new(InterposePlugin {
            inner,
            connection: connection.clone(),
            heartbeats,
        })
    }
}
