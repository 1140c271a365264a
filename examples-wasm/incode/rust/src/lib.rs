//! The in-code Rust example app: this one module declares its functions
//! (no function.json folders) and serves them. HttpHello greets the name
//! given in the query, the route or the body; ProcessJob handles a queue
//! message and writes a result message to the queue "results".
//! Build: ./build.sh (app.wasm).

use wasmworker::{functions, http, queue, Binding, Function, Result};

functions! {
    hello => Function::http("HttpHello").route("hello/{name?}").methods(["get", "post"]),
    process_job => Function::queue("ProcessJob", "jobs").output(Binding::queue("result", "results")),
}

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

/// Handles a job message and writes "done: <message> (attempt <n>)" to the
/// "result" output binding. An empty message fails, so the queue retries.
fn process_job(msg: queue::Message) -> Result<()> {
    let job = msg.text()?;
    if job.is_empty() {
        return Err("empty job message".into());
    }
    wasmworker::info(&format!("processed job {}", msg.id));
    wasmworker::output("result").text(&format!("done: {} (attempt {})", job, msg.dequeue_count))
}

// `cargo test` runs these natively (no wasm): requests built by hand.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_greets_query_route_or_body() {
        let get = |url| http::Request::new("GET", url);
        assert_eq!(hello(get("http://h/api/hello?name=Ada").with_query("name", "Ada")).unwrap().body(), b"Hello, Ada!");
        assert_eq!(hello(get("http://h/api/hello/Bob").with_param("name", "Bob")).unwrap().body(), b"Hello, Bob!");
        assert_eq!(
            hello(http::Request::new("POST", "http://h/api/hello").with_body("Cy")).unwrap().body(),
            b"Hello, Cy!"
        );
        assert_eq!(hello(get("http://h/api/hello")).unwrap().body(), b"Hello, world!");
    }

    #[test]
    fn an_empty_job_fails() {
        assert_eq!(process_job(queue::Message::new("m1", "")).unwrap_err().to_string(), "empty job message");
    }
}
