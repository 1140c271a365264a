//! The ABI v1 test guest of the Rust SDK. Its entry points behave like those
//! of testdata/guests/gohttp (hello, queue, counter, fail, crash), so the same
//! assertions run against every SDK. Built with one rustc command: the SDK is
//! included as a module.

#[path = "../../../../../abi/sdk/rust/src/lib.rs"]
mod wasmworker;

use std::io::Write;
use wasmworker::{http, Level};

/// Answers "Hello, <name> (<method>)" with name from the query, the route or
/// the body.
#[no_mangle]
pub extern "C" fn hello() -> i32 {
    wasmworker::run(|| {
        let name = http::query("name")
            .or_else(|| http::param("who"))
            .unwrap_or_else(|| String::from_utf8_lossy(&http::body()).into_owned());
        http::set_status(201)?;
        http::set_header("Content-Type", "text/plain")?;
        http::add_cookie("seen=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")?;
        wasmworker::log(Level::Information, &format!("greeting {}", name));
        http::write_str(&format!("Hello, {} ({})", name, http::method()))
    })
}

/// Copies its trigger to output "out" upper-cased and returns the dequeue
/// count as JSON.
#[no_mangle]
pub extern "C" fn queue() -> i32 {
    wasmworker::run(|| -> Result<(), String> {
        let msg = wasmworker::input("msg").map_err(|e| format!("read msg: {}", e))?;
        wasmworker::set_output_str("out", &msg.to_text().to_uppercase()).map_err(|e| e.to_string())?;
        let dc = wasmworker::metadata("DequeueCount").map_err(|e| format!("read DequeueCount: {}", e))?;
        wasmworker::set_output_json("$return", &format!("{{\"dequeueCount\":{}}}", dc.to_text()))
            .map_err(|e| e.to_string())
    })
}

static mut CALLS: i64 = 0;

/// Returns how many times this instance ran it, as $return.
#[no_mangle]
pub extern "C" fn counter() -> i32 {
    let n = unsafe {
        CALLS += 1;
        CALLS
    };
    wasmworker::run(|| wasmworker::set_output_i64("$return", n))
}

/// Reports a handled failure after writing output and log lines.
#[no_mangle]
pub extern "C" fn fail() -> i32 {
    wasmworker::run(|| {
        let _ = wasmworker::set_output_str("out", "not sent");
        wasmworker::log(Level::Warning, "about to fail");
        println!("a line on stdout");
        let _ = std::io::stderr().write_all(b"partial stderr");
        Err("bad input: no name")
    })
}

/// Traps.
#[no_mangle]
pub extern "C" fn crash() -> i32 {
    std::process::abort()
}
