//! Integration tier: where Interpose connects. One test in its own binary, because it
//! changes the process environment.

use std::time::Duration;

use interpose::temporal::connect::resolve;
use temporalio_client::{Client, Connection};

#[tokio::test(flavor = "current_thread")]
async fn temporal_connect_uses_envconfig_when_it_names_a_server_and_embeds_one_otherwise() {
    let home = tempfile::tempdir().unwrap();
    // SAFETY: this test binary has a single test; nothing else reads the environment now.
    unsafe {
        for (k, _) in std::env::vars() {
            if k.starts_with("TEMPORAL_") && k != "TEMPORAL_CLI" {
                std::env::remove_var(k);
            }
        }
        std::env::set_var("HOME", home.path());
        std::env::set_var("XDG_CONFIG_HOME", home.path());
    }

    // Nothing configured: an embedded dev server on loopback.
    let embedded = resolve(Duration::from_secs(60)).expect("embedded dev server");
    let server = embedded
        .embedded
        .as_ref()
        .expect("a dev server was started");
    assert!(server.addr().ip().is_loopback());
    assert_eq!(embedded.namespace, "default");
    let connection = Connection::connect(embedded.connection.clone())
        .await
        .expect("the embedded server answers");
    Client::new(connection, embedded.client_options()).expect("client");

    // TEMPORAL_ADDRESS names a server: connect there, start nothing.
    unsafe {
        std::env::set_var("TEMPORAL_ADDRESS", server.addr().to_string());
        std::env::set_var("TEMPORAL_NAMESPACE", "default");
    }
    let configured = resolve(Duration::from_secs(60)).expect("configured target");
    assert!(
        configured.embedded.is_none(),
        "no second server when one is configured"
    );
    assert_eq!(
        configured.connection.target.port(),
        Some(server.addr().port())
    );
    Connection::connect(configured.connection.clone())
        .await
        .expect("the configured server answers");

    // The embedded server stops with its handle.
    let addr = server.addr();
    drop(embedded);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dev server stopped within 10 s of its handle being dropped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
