//! The app's functions, declared here and built into app.wasm (./build.sh).

use wasmworker::{functions, http, queue, Binding, Function, Result};

functions! {
    hello => Function::http("Hello").route("hello").methods(["get", "post"]),
    work => Function::queue("Work", "work").output(Binding::queue("out", "work-done")),
}

/// GET /api/hello?name=<name> answers "Hello, <name>!".
fn hello(req: http::Request) -> Result<http::Response> {
    let name = req.query("name").filter(|n| !n.is_empty()).unwrap_or("world");
    Ok(http::Response::text(format!("Hello, {}!", name)))
}

/// Logs each message of queue "work" and sends it upper-cased to queue
/// "work-done".
fn work(msg: queue::Message) -> Result<()> {
    let text = msg.text()?;
    wasmworker::info(&format!("work item {}: {}", msg.id, text));
    wasmworker::output("out").text(&text.to_uppercase())
}

// `cargo test` runs these natively (no wasm): a request built by hand.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_greets_the_name() {
        let req = http::Request::new("GET", "http://localhost/api/hello?name=Ada").with_query("name", "Ada");
        assert_eq!(hello(req).unwrap().body(), b"Hello, Ada!");
        assert_eq!(hello(http::Request::new("GET", "http://localhost/api/hello")).unwrap().body(), b"Hello, world!");
    }
}
