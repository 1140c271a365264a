//! Rust SDK of the wasmworker guest ABI v1 (`abi/SPEC.md`): read the
//! bindings of an Azure Functions invocation, write its outputs and HTTP
//! response, log, and send HTTP requests ([`outbound`]), through the
//! worker's host imports. Standard library only; builds with Debian's rustc
//! 1.63 for `wasm32-wasi`.
//!
//! A function is an exported entry point of type `() -> i32` that runs a
//! handler with [`run`]:
//!
//! ```ignore
//! #[no_mangle]
//! pub extern "C" fn run() -> i32 {
//!     wasmworker::run(|| {
//!         let name = wasmworker::http::query("name").unwrap_or_default();
//!         wasmworker::http::set_header("content-type", "text/plain")?;
//!         wasmworker::http::write_str(&format!("Hello, {}", name))
//!     })
//! }
//! ```
//!
//! Build it as a `cdylib`, either with Cargo
//! (`RUSTC=/usr/bin/rustc cargo build --release --target wasm32-wasi`) or
//! with one rustc command and this file included as a module
//! (`#[path = ".../lib.rs"] mod wasmworker;`).
//!
//! Every function here is only meaningful while an entry point runs; an
//! instance serves one invocation at a time.

// Included as a module (the one-command build), a program uses only part of
// the SDK.
#![allow(dead_code)]

use std::cell::RefCell;
use std::fmt;

/// The raw imports of module `wasmworker` (SPEC.md §5). Prefer the safe
/// functions of this crate.
pub mod raw {
    #[link(wasm_import_module = "wasmworker")]
    extern "C" {
        pub fn get(source: u32, name: *const u8, name_len: usize, buf: *mut u8, buf_len: usize) -> i64;
        pub fn get_item(
            source: u32,
            name: *const u8,
            name_len: usize,
            index: i32,
            buf: *mut u8,
            buf_len: usize,
        ) -> i64;
        pub fn get_key(source: u32, index: i32, buf: *mut u8, buf_len: usize) -> i64;
        pub fn set_output(name: *const u8, name_len: usize, ty: u32, data: *const u8, len: usize) -> i32;
        pub fn set_error(msg: *const u8, len: usize) -> i32;
        pub fn http_status(status: i32) -> i32;
        pub fn http_header(name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> i32;
        pub fn http_cookie(cookie: *const u8, len: usize) -> i32;
        pub fn http_body(ty: u32, data: *const u8, len: usize) -> i32;
        pub fn log(level: i32, msg: *const u8, len: usize) -> i32;
        pub fn outbound_send(head: *const u8, head_len: usize, body: *const u8, body_len: usize) -> i32;
        pub fn outbound_status(handle: i32) -> i32;
        pub fn outbound_headers(handle: i32, buf: *mut u8, buf_len: usize) -> i64;
        pub fn outbound_read(handle: i32, buf: *mut u8, buf_len: usize) -> i32;
        pub fn outbound_close(handle: i32) -> i32;
        pub fn outbound_error(buf: *mut u8, buf_len: usize) -> i64;
    }
}

pub mod outbound;

/// The version marker (SPEC.md §2.1); the host never calls it.
#[no_mangle]
pub extern "C" fn wasmworker_abi_version_1() {}

/// A value's type tag (SPEC.md §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    None,
    String,
    Json,
    Bytes,
    Stream,
    Http,
    Int,
    Double,
    CollectionBytes,
    CollectionString,
    CollectionDouble,
    CollectionInt,
    /// A tag this SDK does not know (from a newer host).
    Other(u32),
}

impl Type {
    /// The tag's number on the wire.
    pub fn code(self) -> u32 {
        match self {
            Type::None => 0,
            Type::String => 1,
            Type::Json => 2,
            Type::Bytes => 3,
            Type::Stream => 4,
            Type::Http => 5,
            Type::Int => 6,
            Type::Double => 7,
            Type::CollectionBytes => 8,
            Type::CollectionString => 9,
            Type::CollectionDouble => 10,
            Type::CollectionInt => 11,
            Type::Other(n) => n,
        }
    }

    /// The type of a tag number.
    pub fn from_code(n: u32) -> Type {
        match n {
            0 => Type::None,
            1 => Type::String,
            2 => Type::Json,
            3 => Type::Bytes,
            4 => Type::Stream,
            5 => Type::Http,
            6 => Type::Int,
            7 => Type::Double,
            8 => Type::CollectionBytes,
            9 => Type::CollectionString,
            10 => Type::CollectionDouble,
            11 => Type::CollectionInt,
            n => Type::Other(n),
        }
    }

    /// Whether the type is one of the collections.
    pub fn is_collection(self) -> bool {
        matches!(
            self,
            Type::CollectionBytes | Type::CollectionString | Type::CollectionDouble | Type::CollectionInt
        )
    }
}

/// An error code returned by the host (SPEC.md §6).
///
/// An [`outbound::Error`] converts into an `Error` with its code, so `?`
/// works in a handler returning [`Result`]. Its message, which names the URL
/// and what refused it, is kept: while the handler given to [`run`] runs, an
/// `Error` of that code displays the message of the outbound error last
/// converted, so the invocation's failure message is the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(pub i32);

impl Error {
    pub const NOT_FOUND: Error = Error(-1);
    pub const BAD_SOURCE: Error = Error(-2);
    pub const MEMORY: Error = Error(-3);
    pub const BAD_TYPE: Error = Error(-4);
    pub const BAD_UTF8: Error = Error(-5);
    pub const BAD_JSON: Error = Error(-6);
    pub const NOT_OUTPUT: Error = Error(-7);
    pub const NO_HTTP: Error = Error(-8);
    pub const LIMIT: Error = Error(-9);
    pub const NO_INVOCATION: Error = Error(-10);
    pub const BAD_VALUE: Error = Error(-11);
    pub const UNSUPPORTED: Error = Error(-12);
    pub const DENIED: Error = Error(-13);
    pub const HTTP_FAILED: Error = Error(-14);
    pub const BAD_HANDLE: Error = Error(-15);
}

thread_local! {
    // The code and message of the outbound error last converted into an
    // Error (see Error); cleared by run.
    static DETAIL: RefCell<Option<(i32, String)>> = const { RefCell::new(None) };
}

impl From<outbound::Error> for Error {
    fn from(e: outbound::Error) -> Error {
        let code = e.code();
        DETAIL.with(|d| *d.borrow_mut() = Some((code, e.to_string())));
        Error(code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = DETAIL.with(|d| match &*d.borrow() {
            Some((code, msg)) if *code == self.0 => Some(msg.clone()),
            _ => None,
        });
        match (detail, code_text(self.0)) {
            (Some(msg), _) => f.write_str(&msg),
            (None, Some(text)) => write!(f, "wasmworker: {}", text),
            (None, None) => write!(f, "wasmworker: error {}", self.0),
        }
    }
}

/// The meaning of an error code, `None` for a code this SDK does not know.
fn code_text(code: i32) -> Option<&'static str> {
    Some(match code {
        -1 => "not found",
        -2 => "unknown source or name",
        -3 => "buffer outside memory",
        -4 => "type not allowed here",
        -5 => "text is not valid UTF-8",
        -6 => "invalid JSON",
        -7 => "not an output binding of this function",
        -8 => "no HTTP request or http output binding",
        -9 => "per-invocation limit reached",
        -10 => "no invocation in progress",
        -11 => "invalid argument",
        -12 => "not supported by ABI v1",
        -13 => "outbound request denied",
        -14 => "outbound request failed",
        -15 => "not an open outbound response",
        _ => return None,
    })
}

impl std::error::Error for Error {}

/// The result of the functions of this crate.
pub type Result<T> = std::result::Result<T, Error>;

fn check(code: i32) -> Result<()> {
    if code < 0 {
        Err(Error(code))
    } else {
        Ok(())
    }
}

/// A value read from the host: its type and its bytes. For a collection,
/// `len` is the element count and `data` is empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub ty: Type,
    pub data: Vec<u8>,
    pub len: usize,
}

impl Value {
    /// The bytes as text when they are valid UTF-8 (STRING and JSON always are).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// An INT value.
    pub fn as_i64(&self) -> Option<i64> {
        match (self.ty, self.data.as_slice().try_into()) {
            (Type::Int, Ok(b)) => Some(i64::from_le_bytes(b)),
            _ => None,
        }
    }

    /// A DOUBLE value.
    pub fn as_f64(&self) -> Option<f64> {
        match (self.ty, self.data.as_slice().try_into()) {
            (Type::Double, Ok(b)) => Some(f64::from_le_bytes(b)),
            _ => None,
        }
    }

    /// The value as text: the bytes (lossily decoded), or a number in decimal.
    pub fn to_text(&self) -> String {
        if let Some(n) = self.as_i64() {
            return n.to_string();
        }
        if let Some(x) = self.as_f64() {
            return x.to_string();
        }
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Sources of values (SPEC.md §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Input = 0,
    Metadata = 1,
    Context = 2,
    Http = 3,
    HttpHeader = 4,
    HttpQuery = 5,
    HttpParam = 6,
}

thread_local! {
    // The reusable buffer getters copy into first (SPEC.md §5.1).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 4096]);
}

/// Runs a getter into the scratch buffer (grown to the value's size when it
/// is larger) and returns an owned copy.
fn fetch(get: impl Fn(*mut u8, usize) -> i64) -> Result<Value> {
    SCRATCH.with(|s| {
        let mut buf = s.borrow_mut();
        let mut r = get(buf.as_mut_ptr(), buf.len());
        if r < 0 {
            return Err(Error(r as i32));
        }
        let ty = Type::from_code((r >> 32) as u32);
        let len = r as u32 as usize;
        if ty.is_collection() || ty == Type::Http || ty == Type::None {
            return Ok(Value { ty, data: Vec::new(), len });
        }
        if len > buf.len() {
            buf.resize(len, 0);
            r = get(buf.as_mut_ptr(), buf.len());
            if r < 0 {
                return Err(Error(r as i32));
            }
        }
        Ok(Value { ty, data: buf[..len].to_vec(), len })
    })
}

/// Reads value `name` of any source.
pub fn get(source: Source, name: &str) -> Result<Value> {
    fetch(|buf, n| unsafe { raw::get(source as u32, name.as_ptr(), name.len(), buf, n) })
}

fn text(source: Source, name: &str) -> Option<String> {
    get(source, name).ok().map(|v| v.to_text())
}

/// Reads input binding `name` (the trigger included). A binding the host did
/// not send gives `Error::NOT_FOUND`; a null one a value of type `None`.
pub fn input(name: &str) -> Result<Value> {
    get(Source::Input, name)
}

/// Reads element `index` of the collection input binding `name`.
pub fn item(name: &str, index: usize) -> Result<Value> {
    let index = i32::try_from(index).map_err(|_| Error::NOT_FOUND)?;
    fetch(|buf, n| unsafe { raw::get_item(Source::Input as u32, name.as_ptr(), name.len(), index, buf, n) })
}

/// Reads trigger-metadata entry `key` (e.g. `DequeueCount`).
pub fn metadata(key: &str) -> Result<Value> {
    get(Source::Metadata, key)
}

/// The names of a source's entries (inputs, metadata, headers, query or
/// route parameters), sorted.
pub fn keys(source: Source) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0.. {
        match fetch(|buf, n| unsafe { raw::get_key(source as u32, i, buf, n) }) {
            Ok(v) => out.push(v.to_text()),
            Err(_) => break,
        }
    }
    out
}

/// The id of the invocation in progress.
pub fn invocation_id() -> String {
    text(Source::Context, "invocation_id").unwrap_or_default()
}

/// Sets output binding `name` (`"$return"` for the return value) to `data`
/// of type `ty` (`String`, `Json`, `Bytes`, `Int` or `Double`).
pub fn set_output(name: &str, ty: Type, data: &[u8]) -> Result<()> {
    check(unsafe { raw::set_output(name.as_ptr(), name.len(), ty.code(), data.as_ptr(), data.len()) })
}

/// Sets output binding `name` to a string.
pub fn set_output_str(name: &str, s: &str) -> Result<()> {
    set_output(name, Type::String, s.as_bytes())
}

/// Sets output binding `name` to JSON text (validated by the host).
pub fn set_output_json(name: &str, json: &str) -> Result<()> {
    set_output(name, Type::Json, json.as_bytes())
}

/// Sets output binding `name` to an integer.
pub fn set_output_i64(name: &str, n: i64) -> Result<()> {
    set_output(name, Type::Int, &n.to_le_bytes())
}

/// Sets output binding `name` to a double.
pub fn set_output_f64(name: &str, x: f64) -> Result<()> {
    set_output(name, Type::Double, &x.to_le_bytes())
}

/// The HTTP request and response (SPEC.md §4.2, §5.5).
pub mod http {
    use super::{check, get, keys, raw, text, Result, Source, Type};

    /// The request method ("" without an HTTP request).
    pub fn method() -> String {
        text(Source::Http, "method").unwrap_or_default()
    }

    /// The request's full URL.
    pub fn url() -> String {
        text(Source::Http, "url").unwrap_or_default()
    }

    /// Request header `name` (case-insensitive).
    pub fn header(name: &str) -> Option<String> {
        text(Source::HttpHeader, name)
    }

    /// Query parameter `name`.
    pub fn query(name: &str) -> Option<String> {
        text(Source::HttpQuery, name)
    }

    /// Route parameter `name`.
    pub fn param(name: &str) -> Option<String> {
        text(Source::HttpParam, name)
    }

    /// The request's header names, sorted.
    pub fn header_names() -> Vec<String> {
        keys(Source::HttpHeader)
    }

    /// The request body (empty when there is none).
    pub fn body() -> Vec<u8> {
        get(Source::Http, "body").map(|v| v.data).unwrap_or_default()
    }

    /// Sets the response status (the response starts as 200).
    pub fn set_status(status: u16) -> Result<()> {
        check(unsafe { raw::http_status(i32::from(status)) })
    }

    /// Adds a response header; adding a name twice joins the values.
    pub fn set_header(name: &str, value: &str) -> Result<()> {
        check(unsafe { raw::http_header(name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
    }

    /// Adds a cookie given in Set-Cookie syntax, e.g. `id=1; Path=/; HttpOnly`.
    pub fn add_cookie(set_cookie: &str) -> Result<()> {
        check(unsafe { raw::http_cookie(set_cookie.as_ptr(), set_cookie.len()) })
    }

    /// Sets the response body; `ty` is `String`, `Bytes` or `Json`.
    pub fn set_body(ty: Type, body: &[u8]) -> Result<()> {
        check(unsafe { raw::http_body(ty.code(), body.as_ptr(), body.len()) })
    }

    /// Sets the response body to text.
    pub fn write_str(s: &str) -> Result<()> {
        set_body(Type::String, s.as_bytes())
    }
}

/// A log level (`RpcLog.Level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Information = 2,
    Warning = 3,
    Error = 4,
    Critical = 5,
}

/// Writes a log entry of the invocation.
pub fn log(level: Level, msg: &str) {
    unsafe { raw::log(level as i32, msg.as_ptr(), msg.len()) };
}

/// Sets the failure message reported when the entry point returns non-zero.
pub fn set_error(msg: &str) {
    unsafe { raw::set_error(msg.as_ptr(), msg.len()) };
}

/// Runs `handler` as the body of an entry point and returns the entry
/// point's status: 0 on success, 1 after an error, whose text becomes the
/// invocation's failure message. (A panic aborts: a trap, after which the
/// worker discards the instance.)
pub fn run<E: fmt::Display>(handler: impl FnOnce() -> std::result::Result<(), E>) -> i32 {
    let clear = || DETAIL.with(|d| d.borrow_mut().take());
    clear();
    let status = match handler() {
        Ok(()) => 0,
        Err(e) => {
            set_error(&e.to_string());
            1
        }
    };
    clear();
    status
}
