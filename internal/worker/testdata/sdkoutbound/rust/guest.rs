//! The outbound HTTP test guest of the Rust SDK (outbound_sdk_test.go). Each
//! entry point is an HTTP function that calls the URL in its query parameter
//! `url` and answers with what it saw; the AssemblyScript guest next to this
//! one answers the same way. Built with one rustc command: the SDK is
//! included as a module.

#[path = "../../../../../abi/sdk/rust/src/lib.rs"]
mod wasmworker;

use std::io::Read;
use wasmworker::outbound::{self, ErrorKind, Request};
use wasmworker::{http, Level};

/// The URL to call, from the query.
fn target() -> String {
    http::query("url").unwrap_or_default()
}

/// GET with request headers; answers "<status> <X-Reply header> <body>".
#[no_mangle]
pub extern "C" fn get() -> i32 {
    wasmworker::run(|| {
        let resp = Request::get(&target())
            .header("X-Guest", "rust")
            .header("Accept", "text/plain")
            .send()?;
        let status = resp.status();
        // Canonical on the wire (X-Reply); looked up in lower case.
        let reply = resp.header("x-reply").unwrap_or("-").to_string();
        let body = resp.text()?;
        http::write_str(&format!("{} {} {}", status, reply, body))
    })
}

/// POSTs the request's body as JSON; answers with the upstream's body.
#[no_mangle]
pub extern "C" fn post() -> i32 {
    wasmworker::run(|| {
        let resp = Request::post(&target())
            .header("content-type", "application/json")
            .body(http::body())
            .send()?;
        http::set_status(resp.status())?;
        http::set_body(wasmworker::Type::Bytes, &resp.bytes()?)
    })
}

/// Reads a large body (byte i is i % 251) twice: in 1000-byte chunks through
/// std::io::Read, then whole with bytes(). Answers
/// "read <bytes> in <chunks> chunks, bytes() <bytes>, pattern ok|broken".
/// Its handler returns a boxed error, which every error type converts into.
#[no_mangle]
pub extern "C" fn big() -> i32 {
    wasmworker::run(|| -> Result<(), Box<dyn std::error::Error>> {
        let mut resp = outbound::get(&target())?;
        let (mut total, mut chunks, mut intact) = (0usize, 0, true);
        let mut buf = [0u8; 1000];
        loop {
            let n = resp.read(&mut buf)?;
            if n == 0 {
                break;
            }
            intact &= buf[..n].iter().enumerate().all(|(i, &b)| b as usize == (total + i) % 251);
            total += n;
            chunks += 1;
        }
        let whole = outbound::get(&target())?.bytes()?;
        intact &= whole.iter().enumerate().all(|(i, &b)| b as usize == i % 251);
        let verdict = if intact { "ok" } else { "broken" };
        http::write_str(&format!("read {} in {} chunks, bytes() {}, pattern {}", total, chunks, whole.len(), verdict))?;
        Ok(())
    })
}

/// Opens more responses one after another than may be open at once (8),
/// each released when dropped; answers "<n> responses".
#[no_mangle]
pub extern "C" fn many() -> i32 {
    wasmworker::run(|| {
        let mut n = 0;
        for _ in 0..12 {
            let resp = outbound::get(&target())?;
            if resp.is_success() {
                n += 1;
            }
        }
        http::write_str(&format!("{} responses", n))
    })
}

/// Calls a URL the grant refuses: logs the error's kind, code and message
/// (and the kind of a request with a malformed header, which the SDK refuses
/// itself), then lets `?` turn the refusal into the invocation's failure.
#[no_mangle]
pub extern "C" fn denied() -> i32 {
    wasmworker::run(|| {
        if let Err(e) = outbound::get(&target()) {
            wasmworker::log(Level::Warning, &format!("kind={:?} code={} message={}", e.kind(), e.code(), e));
        }
        match Request::get(&target()).header("X-Bad", "a\r\nInjected: 1").send() {
            Err(e) if e.kind() == ErrorKind::BadValue => wasmworker::log(Level::Information, &format!("bad header: {}", e)),
            Err(e) => wasmworker::log(Level::Error, &format!("bad header: unexpected {:?}: {}", e.kind(), e)),
            Ok(_) => wasmworker::log(Level::Error, "bad header: sent"),
        }
        outbound::get(&target())?;
        http::write_str("allowed")
    })
}
