//! Two Azure Functions in one ABI v1 module, written with the Rust SDK
//! (abi/sdk/rust). HttpHello/function.json uses entry point "hello",
//! ProcessJob/function.json uses "process_job": `entry_points!` exports a
//! function of that name for each handler. Build: ../build.sh rust (one
//! rustc command, the SDK included as a module; no Cargo).
//! examples-wasm/incode/rust is the same app with its functions declared in
//! code instead of function.json.

#[path = "../../../abi/sdk/rust/src/lib.rs"]
mod wasmworker;

use wasmworker::{http, queue, Result};

wasmworker::entry_points!(hello, process_job);

/// Greets the name given in the query, the route or the body.
fn hello(req: http::Request) -> Result<http::Response> {
    let name = req
        .query("name")
        .or_else(|| req.param("name"))
        .or_else(|| req.text().ok().filter(|b| !b.is_empty()))
        .unwrap_or("world");
    wasmworker::info(&format!("greeting {}", name));
    Ok(http::Response::text(format!("Hello, {}!", name)))
}

/// Handles a queue message and writes a result message to the "result"
/// output binding. An empty message fails, so the queue retries.
fn process_job(msg: queue::Message) -> Result<()> {
    let job = msg.text()?;
    if job.is_empty() {
        return Err("empty job message".into());
    }
    wasmworker::info(&format!("processed job {}", msg.id));
    wasmworker::output("result").text(&format!("done: {} (attempt {})", job, msg.dequeue_count))
}
