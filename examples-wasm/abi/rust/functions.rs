//! Two Azure Functions in one ABI v1 module, written with the Rust SDK
//! (abi/sdk/rust). HttpHello/function.json uses entry point "hello",
//! ProcessJob/function.json uses "process_job". Build: ../build.sh rust

#[path = "../../../abi/sdk/rust/src/lib.rs"]
mod wasmworker;

use wasmworker::{http, Level};

/// Greets the name given in the query, the route or the body.
#[no_mangle]
pub extern "C" fn hello() -> i32 {
    wasmworker::run(|| {
        let body = String::from_utf8_lossy(&http::body()).into_owned();
        let name = http::query("name")
            .or_else(|| http::param("name"))
            .or_else(|| Some(body).filter(|b| !b.is_empty()))
            .unwrap_or_else(|| "world".to_string());
        wasmworker::log(Level::Information, &format!("greeting {}", name));
        http::set_header("content-type", "text/plain; charset=utf-8")?;
        http::write_str(&format!("Hello, {}!", name))
    })
}

/// Handles a queue message and writes a result message to the "result"
/// output binding. An empty message fails, so the queue retries.
#[no_mangle]
pub extern "C" fn process_job() -> i32 {
    wasmworker::run(|| -> Result<(), String> {
        let msg = wasmworker::input("msg").map(|v| v.to_text()).unwrap_or_default();
        if msg.is_empty() {
            return Err("empty job message".into());
        }
        // DequeueCount arrives as JSON text ("1"); Id as a string.
        let attempt = wasmworker::metadata("DequeueCount").map(|v| v.to_text()).unwrap_or_else(|_| "?".into());
        let id = wasmworker::metadata("Id").map(|v| v.to_text()).unwrap_or_else(|_| "?".into());
        wasmworker::log(Level::Information, &format!("processed job {}", id));
        wasmworker::set_output_str("result", &format!("done: {} (attempt {})", msg, attempt)).map_err(|e| e.to_string())
    })
}
