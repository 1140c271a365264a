//! A test app of the Rust SDK (examples-wasm/incode_rust_test.go): serde
//! for HTTP and queue inputs and outputs, typed queue metadata, a context
//! argument, and a panic whose message becomes the invocation's failure.

use serde::{Deserialize, Serialize};
use wasmworker::{functions, http, queue, Binding, Context, Function, Result, Retry};

functions! {
    total => Function::http("Total").route("total").methods(["post"]),
    boom => Function::http("Boom").route("boom"),
    price => Function::queue("Price", "orders")
        .output(Binding::queue("out", "priced"))
        .retry(Retry::fixed_delay(2, "00:00:01")),
}

#[derive(Deserialize)]
struct Order {
    item: String,
    qty: u32,
    unit_cents: u64,
}

#[derive(Serialize)]
struct Priced<'a> {
    item: &'a str,
    total_cents: u64,
    attempt: u32,
}

/// Answers the order's total as JSON; a body that is not an order is a 400.
fn total(req: http::Request) -> Result<http::Response> {
    let order: Order = match req.json() {
        Ok(o) => o,
        Err(e) => return Ok(http::Response::builder().status(400).text(e.to_string())),
    };
    http::Response::json(&Priced {
        item: &order.item,
        total_cents: order.unit_cents * u64::from(order.qty),
        attempt: 0,
    })
}

/// Panics with the query's "why".
fn boom(req: http::Request, ctx: Context) -> http::Response {
    let why = req.query("why").unwrap_or("no reason").to_string();
    panic!("boom in {}: {}", ctx.function_name, why);
}

/// Prices a JSON order message onto the queue "priced", as JSON.
fn price(msg: queue::Message) -> Result<()> {
    let order: Order = msg.json()?;
    let priced =
        Priced { item: &order.item, total_cents: order.unit_cents * u64::from(order.qty), attempt: msg.dequeue_count };
    wasmworker::output("out").json(&priced)
}
