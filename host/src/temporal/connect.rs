//! Where the Temporal server is: the user's cluster when Temporal's environment
//! configuration names one (`TEMPORAL_ADDRESS`, a `TEMPORAL_PROFILE`, or a `temporal.toml`
//! profile with an address — namespace, TLS and API key as Temporal's envconfig defines
//! them), otherwise an embedded dev server started on loopback (with the `dev-server`
//! feature; without it, [`resolve`] says that no server is configured).

use std::time::Duration;

use temporalio_client::envconfig::LoadClientConfigProfileOptions;
use temporalio_client::{ClientOptions, ConnectionOptions};
use temporalio_common::envconfig::load_client_config_profile;

#[cfg(feature = "dev-server")]
use crate::devserver::{DevServer, DevServerError};

/// Why no Temporal connection target could be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Temporal's environment configuration is invalid.
    #[error("Temporal environment configuration: {0}")]
    EnvConfig(String),
    /// The embedded dev server could not start.
    #[cfg(feature = "dev-server")]
    #[error(transparent)]
    DevServer(#[from] DevServerError),
    /// Temporal's envconfig names no server, and this build has no embedded dev server
    /// (the `dev-server` feature of `interpose` is off).
    #[cfg(not(feature = "dev-server"))]
    #[error(
        "no Temporal server configured (set TEMPORAL_ADDRESS or a temporal.toml profile), \
         and this build has no embedded dev server (enable the `dev-server` feature of \
         `interpose`)"
    )]
    NotConfigured,
}

/// A Temporal server to connect to, with the embedded dev server kept alive as long as
/// this value lives.
#[derive(Debug)]
pub struct Target {
    /// Connection options (address, TLS, API key).
    pub connection: ConnectionOptions,
    /// Namespace.
    pub namespace: String,
    /// The embedded server, when one was started.
    #[cfg(feature = "dev-server")]
    pub embedded: Option<DevServer>,
}

impl Target {
    /// Client options for this target's namespace.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions::new(self.namespace.clone()).build()
    }

    /// Client options for this target's namespace with these client interceptors.
    pub fn client_options_with(
        &self,
        interceptors: Vec<std::sync::Arc<dyn temporalio_client::ClientInterceptor>>,
    ) -> ClientOptions {
        ClientOptions::new(self.namespace.clone())
            .client_interceptors(interceptors)
            .build()
    }
}

/// The server Temporal's envconfig names, if it names one.
pub fn configured() -> Result<Option<Target>, TargetError> {
    let profile = load_client_config_profile(LoadClientConfigProfileOptions::default(), None)
        .map_err(|e| TargetError::EnvConfig(e.to_string()))?;
    if profile.address.is_none() {
        return Ok(None);
    }
    let (connection, client) =
        ClientOptions::load_from_config(LoadClientConfigProfileOptions::default())
            .map_err(|e| TargetError::EnvConfig(e.to_string()))?;
    tracing::info!(address = %connection.target, "connecting to the configured Temporal server");
    Ok(Some(Target {
        connection,
        namespace: client.namespace.clone(),
        #[cfg(feature = "dev-server")]
        embedded: None,
    }))
}

/// Resolve the target: Temporal's envconfig when it names an address, else an embedded dev
/// server (waiting up to `startup` for it to answer; `dev-server` feature).
pub fn resolve(startup: Duration) -> Result<Target, TargetError> {
    if let Some(target) = configured()? {
        return Ok(target);
    }
    embedded(startup)
}

#[cfg(not(feature = "dev-server"))]
fn embedded(_startup: Duration) -> Result<Target, TargetError> {
    Err(TargetError::NotConfigured)
}

#[cfg(feature = "dev-server")]
fn embedded(startup: Duration) -> Result<Target, TargetError> {
    let server = DevServer::start(startup)?;
    let url = temporalio_client::Url::parse(&server.url())
        .map_err(|e| TargetError::EnvConfig(e.to_string()))?;
    Ok(Target {
        connection: ConnectionOptions::new(url).build(),
        namespace: "default".into(),
        embedded: Some(server),
    })
}
