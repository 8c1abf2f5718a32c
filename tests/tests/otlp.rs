//! The OTLP export path once, end to end: a guest span exported by `interpose::otel`'s OTLP
//! provider, configured the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT`), reaches a receiver
//! on loopback started by the test. The exporter reads its configuration from the process
//! environment, so the export runs in a child process (this test binary, the ignored test
//! below) with the variable set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use interpose::chain::{Hook, Outcome};
use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
use interpose_tests::{call, guest, guests, runtime};
use opentelemetry::trace::TracerProvider as _;

/// One HTTP request read from `listener` (headers and a `Content-Length` body); answers 200.
fn receive(listener: &TcpListener) -> (String, Vec<u8>) {
    let (stream, _) = listener.accept().expect("the exporter connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length.min(16 << 20)];
    reader.read_exact(&mut body).unwrap();
    let mut stream = stream;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    (head, body)
}

#[test]
fn otlp_export_reaches_a_receiver_named_by_the_standard_environment() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "export_one_guest_span_over_otlp",
            "--nocapture",
        ])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=interpose-test")
        .spawn()
        .unwrap();
    let (head, body) = receive(&listener);
    let status = child.wait().unwrap();
    assert!(status.success(), "the exporting process failed: {status}");
    assert!(
        head.starts_with("POST /v1/traces "),
        "OTLP/HTTP traces path: {head}"
    );
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    assert!(
        lower.contains("x-tenant: interpose-test"),
        "OTEL_EXPORTER_OTLP_HEADERS are sent: {head}"
    );
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"RunWorkflow:Order"),
        "the guest's span is in the export"
    );
    assert!(has(b"interpose.guest"), "with the guest that made it");
}

/// Run by the test above in a child process, with `OTEL_EXPORTER_OTLP_ENDPOINT` set.
#[test]
#[ignore = "run by otlp_export_reaches_a_receiver_named_by_the_standard_environment"]
fn export_one_guest_span_over_otlp() {
    let provider = interpose::otel::otlp_provider().unwrap();
    let traces = std::sync::Arc::new(interpose::otel::OtelTraces::new(
        provider.tracer("interpose"),
    ));
    let config = interpose::config::Config::from_toml(
        &guest("tracing", guests::TRACING, ""),
        std::path::Path::new("/"),
        std::path::Path::new("otlp.toml"),
    )
    .unwrap();
    let chain =
        interpose::chain::Chain::load(&runtime().with_traces(traces), &config, Vec::new()).unwrap();
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "order-1", "run-1", "Order", "q"), 1);
    chain
        .session(Scope::Workflow(wf))
        .run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
        .unwrap();
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();
}
