//! Tries to open a TCP connection from a client hook. Built for wasm32-wasip2, where Rust
//! std's networking imports `wasi:sockets`: the host links those imports to stubs that trap,
//! so the guest loads and the connect is a guest failure naming the network.

use interpose_guest::{Before, Call, Interceptor, interceptor};

#[derive(Default)]
struct ForbiddenImport;

#[interceptor]
impl Interceptor for ForbiddenImport {
    fn before_start_workflow(&mut self, _call: &Call) -> Before {
        let _ = std::net::TcpStream::connect("127.0.0.1:7233");
        Before::Proceed
    }
}

interpose_guest::export!(ForbiddenImport);
