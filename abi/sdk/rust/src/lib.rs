//! Rust SDK of the wasmworker guest ABI v1 (`abi/SPEC.md`): Azure Functions
//! as WebAssembly modules. Read the bindings of an invocation, write its
//! outputs and HTTP response, log, send HTTP requests ([`outbound`]), and
//! declare the module's functions in code (SPEC.md §2.3), so that an app is
//! `host.json` plus one `.wasm`.
//!
//! ```ignore
//! use wasmworker::{functions, http, queue, Binding, Function, Result};
//!
//! functions! {
//!     hello => Function::http("HttpHello").route("hello/{name?}").methods(["get", "post"]),
//!     process_job => Function::queue("ProcessJob", "jobs").output(Binding::queue("result", "results")),
//! }
//!
//! fn hello(req: http::Request) -> Result<http::Response> {
//!     let name = req.query("name").or_else(|| req.param("name")).unwrap_or("world");
//!     Ok(http::Response::text(format!("Hello, {}!", name)))
//! }
//!
//! fn process_job(msg: queue::Message) -> Result<()> {
//!     wasmworker::info(&format!("job {} (attempt {})", msg.id, msg.dequeue_count));
//!     wasmworker::output("result").text(&format!("done: {}", msg.text()?))
//! }
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasi` (`wasm32-wasip1` on newer
//! toolchains), either with Cargo or with one rustc command and this file
//! included as a module named `wasmworker` at the crate root
//! (`#[path = ".../lib.rs"] mod wasmworker;`); README.md has both.
//!
//! Every function here that talks to the host is only meaningful while an
//! entry point runs; an instance serves one invocation at a time. On other
//! targets than wasm32 the host imports are stubs that fail with
//! `NO_INVOCATION`, so handlers that take a [`http::Request`] built with
//! [`http::Request::new`] can be unit-tested natively.
//!
//! The optional cargo feature `serde` adds [`http::Request::json`],
//! [`http::Response::json`], [`queue::Message::json`], [`Value::json`],
//! [`Output::json`], [`input_json`] and [`metadata_json`].

// Included as a module (the one-command build), a program uses only part of
// the SDK.
#![allow(dead_code)]

// The macros name this crate's items as `$crate::wasmworker::…`: `$crate` is
// this crate when it is a dependency, and the including crate's root when
// this file is included as a module named `wasmworker`.
#[doc(hidden)]
pub use crate as wasmworker;

use std::cell::RefCell;
use std::fmt;

/// The raw imports of module `wasmworker` (SPEC.md §5). Prefer the safe
/// functions of this crate. On targets other than wasm32 they are stubs
/// that fail with `NO_INVOCATION` (-10), for native unit tests.
pub mod raw {
    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "wasmworker")]
    extern "C" {
        pub fn get(source: u32, name: *const u8, name_len: usize, buf: *mut u8, buf_len: usize) -> i64;
        pub fn get_item(source: u32, name: *const u8, name_len: usize, index: i32, buf: *mut u8, buf_len: usize)
            -> i64;
        pub fn get_key(source: u32, index: i32, buf: *mut u8, buf_len: usize) -> i64;
        pub fn set_output(name: *const u8, name_len: usize, ty: u32, data: *const u8, len: usize) -> i32;
        pub fn set_error(msg: *const u8, len: usize) -> i32;
        pub fn http_status(status: i32) -> i32;
        pub fn http_header(name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> i32;
        pub fn http_cookie(cookie: *const u8, len: usize) -> i32;
        pub fn http_body(ty: u32, data: *const u8, len: usize) -> i32;
        pub fn log(level: i32, msg: *const u8, len: usize) -> i32;
        pub fn declare(json: *const u8, len: usize) -> i32;
        pub fn outbound_send(head: *const u8, head_len: usize, body: *const u8, body_len: usize) -> i32;
        pub fn outbound_status(handle: i32) -> i32;
        pub fn outbound_headers(handle: i32, buf: *mut u8, buf_len: usize) -> i64;
        pub fn outbound_read(handle: i32, buf: *mut u8, buf_len: usize) -> i32;
        pub fn outbound_close(handle: i32) -> i32;
        pub fn outbound_error(buf: *mut u8, buf_len: usize) -> i64;
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod stubs {
        #![allow(clippy::missing_safety_doc, unused_variables)]
        const NO_INVOCATION: i32 = -10;
        pub unsafe fn get(source: u32, name: *const u8, name_len: usize, buf: *mut u8, buf_len: usize) -> i64 {
            NO_INVOCATION as i64
        }
        pub unsafe fn get_item(
            source: u32,
            name: *const u8,
            name_len: usize,
            index: i32,
            buf: *mut u8,
            buf_len: usize,
        ) -> i64 {
            NO_INVOCATION as i64
        }
        pub unsafe fn get_key(source: u32, index: i32, buf: *mut u8, buf_len: usize) -> i64 {
            NO_INVOCATION as i64
        }
        pub unsafe fn set_output(name: *const u8, name_len: usize, ty: u32, data: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn set_error(msg: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn http_status(status: i32) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn http_header(name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn http_cookie(cookie: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn http_body(ty: u32, data: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn log(level: i32, msg: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn declare(json: *const u8, len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn outbound_send(head: *const u8, head_len: usize, body: *const u8, body_len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn outbound_status(handle: i32) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn outbound_headers(handle: i32, buf: *mut u8, buf_len: usize) -> i64 {
            NO_INVOCATION as i64
        }
        pub unsafe fn outbound_read(handle: i32, buf: *mut u8, buf_len: usize) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn outbound_close(handle: i32) -> i32 {
            NO_INVOCATION
        }
        pub unsafe fn outbound_error(buf: *mut u8, buf_len: usize) -> i64 {
            NO_INVOCATION as i64
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub use stubs::*;
}

mod declare;
mod entry;
pub mod http;
mod json;
pub mod outbound;
pub mod queue;

pub use declare::{Binding, Direction, Function, Retry};
pub use entry::{FromInvocation, Handler, IntoOutcome, Invocation};
pub use json::Json;

#[doc(hidden)]
pub mod __private {
    pub use super::entry::{declare_all, invoke};

    /// Whether a handler's name may be an export: not `memory`, and not
    /// starting with `_` or `wasmworker_` (SPEC.md §2.2), checked at
    /// compile time by the macros.
    pub const fn entry_name_ok(name: &str) -> bool {
        const fn starts(s: &[u8], p: &[u8]) -> bool {
            if s.len() < p.len() {
                return false;
            }
            let mut i = 0;
            while i < p.len() {
                if s[i] != p[i] {
                    return false;
                }
                i += 1;
            }
            true
        }
        let b = name.as_bytes();
        !(b.is_empty() || b[0] == b'_' || starts(b, b"wasmworker_") || (b.len() == 6 && starts(b, b"memory")))
    }
}

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
        matches!(self, Type::CollectionBytes | Type::CollectionString | Type::CollectionDouble | Type::CollectionInt)
    }
}

/// The error of this crate: a host error code (SPEC.md §6) and what it was
/// about (`input "msg": not found`), or a message of the function's own
/// ([`Error::msg`], `?` on a `String`, `&str`, I/O, parse or outbound error).
///
/// A handler's error becomes the invocation's failure message. It converts
/// into `Box<dyn std::error::Error>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: i32,
    what: String,
    message: String,
}

impl Error {
    pub const NOT_FOUND: i32 = -1;
    pub const BAD_SOURCE: i32 = -2;
    pub const MEMORY: i32 = -3;
    pub const BAD_TYPE: i32 = -4;
    pub const BAD_UTF8: i32 = -5;
    pub const BAD_JSON: i32 = -6;
    pub const NOT_OUTPUT: i32 = -7;
    pub const NO_HTTP: i32 = -8;
    pub const LIMIT: i32 = -9;
    pub const NO_INVOCATION: i32 = -10;
    pub const BAD_VALUE: i32 = -11;
    pub const UNSUPPORTED: i32 = -12;
    pub const DENIED: i32 = -13;
    pub const HTTP_FAILED: i32 = -14;
    pub const BAD_HANDLE: i32 = -15;

    /// An error with a message of the function's own (code 0).
    pub fn msg(message: impl fmt::Display) -> Error {
        Error { code: 0, what: String::new(), message: message.to_string() }
    }

    /// The error of a host call: `code` (SPEC.md §6) about `what`, e.g.
    /// `input "msg"`.
    pub fn host(code: i32, what: impl Into<String>) -> Error {
        Error { code, what: what.into(), message: String::new() }
    }

    /// This error with `what` naming what it was about, when it names
    /// nothing yet.
    pub fn context(mut self, what: impl Into<String>) -> Error {
        if self.what.is_empty() {
            self.what = what.into();
        } else {
            self.what = format!("{}: {}", what.into(), self.what);
        }
        self
    }

    /// The host's error code (SPEC.md §6), 0 for an error of the function's
    /// own.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Whether the value asked for does not exist (`NOT_FOUND`).
    pub fn is_not_found(&self) -> bool {
        self.code == Error::NOT_FOUND
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.what.is_empty() {
            write!(f, "{}: ", self.what)?;
        }
        if !self.message.is_empty() {
            f.write_str(&self.message)
        } else if let Some(text) = code_text(self.code) {
            f.write_str(text)
        } else {
            write!(f, "error {}", self.code)
        }
    }
}

impl std::error::Error for Error {}

impl From<outbound::Error> for Error {
    /// Keeps the host's message, which names the URL and what refused it.
    fn from(e: outbound::Error) -> Error {
        Error { code: e.code(), what: String::new(), message: e.to_string() }
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Error {
        Error::msg(s)
    }
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error { code: 0, what: String::new(), message: s }
    }
}

macro_rules! error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::msg(e)
            }
        }
    )*};
}

error_from!(
    std::io::Error,
    fmt::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
    Box<dyn std::error::Error>,
    Box<dyn std::error::Error + Send + Sync>
);

#[cfg(feature = "serde")]
error_from!(serde_json::Error);

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

/// The result of the functions of this crate and of handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Ok` for a non-negative import result, the error about `what` otherwise.
fn check(code: i32, what: impl FnOnce() -> String) -> Result<()> {
    if code < 0 {
        Err(Error::host(code, what()))
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
    /// The bytes as text when they are valid UTF-8 (STRING and JSON always
    /// are), as the host sent them: a JSON string keeps its quotes.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// The value as a string: STRING, BYTES and STREAM as UTF-8 text, a JSON
    /// string without its quotes and escapes, another JSON value as its text,
    /// INT and DOUBLE in decimal; `None` for text that is not UTF-8 and for
    /// the types without bytes.
    pub fn text(&self) -> Option<String> {
        match self.ty {
            Type::Int | Type::Double => Some(self.to_text()),
            Type::Json => {
                let s = self.as_str()?;
                match json::parse_scalar(s) {
                    Some(json::Scalar::Str(v)) => Some(v),
                    _ => Some(s.trim().to_string()),
                }
            }
            Type::String | Type::Bytes | Type::Stream => self.as_str().map(str::to_string),
            _ => None,
        }
    }

    /// An integer: an INT value, or JSON or STRING text holding one (a JSON
    /// number, or a JSON string of digits: trigger metadata such as
    /// `DequeueCount` arrives as JSON text).
    pub fn as_i64(&self) -> Option<i64> {
        match (self.ty, self.data.as_slice().try_into()) {
            (Type::Int, Ok(b)) => Some(i64::from_le_bytes(b)),
            (Type::Int, Err(_)) => None,
            _ => self.number_text()?.parse().ok(),
        }
    }

    /// A number: a DOUBLE or INT value, or JSON or STRING text holding one.
    pub fn as_f64(&self) -> Option<f64> {
        match (self.ty, self.data.as_slice().try_into()) {
            (Type::Double, Ok(b)) => Some(f64::from_le_bytes(b)),
            (Type::Int, Ok(b)) => Some(i64::from_le_bytes(b) as f64),
            (Type::Double | Type::Int, Err(_)) => None,
            _ => self.number_text()?.parse().ok(),
        }
    }

    /// A boolean: JSON or STRING text `true` or `false` (any case, quoted or
    /// not).
    pub fn as_bool(&self) -> Option<bool> {
        match self.ty {
            Type::Json | Type::String => {
                let t = self.text()?;
                if t.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if t.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The text of a JSON or STRING value that should hold a number.
    fn number_text(&self) -> Option<String> {
        match self.ty {
            Type::Json | Type::String => self.text().map(|t| t.trim().to_string()),
            _ => None,
        }
    }

    /// The value as text: the bytes (lossily decoded, a JSON string with its
    /// quotes), or a number in decimal.
    pub fn to_text(&self) -> String {
        match (self.ty, self.data.as_slice().try_into()) {
            (Type::Int, Ok(b)) => i64::from_le_bytes(b).to_string(),
            (Type::Double, Ok(b)) => f64::from_le_bytes(b).to_string(),
            _ => String::from_utf8_lossy(&self.data).into_owned(),
        }
    }

    /// Parses the value's bytes (JSON, STRING or BYTES) as JSON into `T`.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        match self.ty {
            Type::Int | Type::Double => serde_json::from_str(&self.to_text()).map_err(Error::from),
            _ => serde_json::from_slice(&self.data).map_err(|e| Error::msg(format!("invalid JSON: {}", e))),
        }
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

impl Source {
    /// How an error names a value of this source: `input "msg"`.
    fn describe(self, name: &str) -> String {
        let kind = match self {
            Source::Input => "input",
            Source::Metadata => "metadata",
            Source::Context => "context",
            Source::Http => "http request",
            Source::HttpHeader => "http header",
            Source::HttpQuery => "query parameter",
            Source::HttpParam => "route parameter",
        };
        format!("{} {:?}", kind, name)
    }
}

thread_local! {
    // The reusable buffer getters copy into first (SPEC.md §5.1).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 4096]);
}

/// Runs a getter into the scratch buffer (grown to the value's size when it
/// is larger) and returns an owned copy, or the host's error code.
fn fetch(get: impl Fn(*mut u8, usize) -> i64) -> std::result::Result<Value, i32> {
    SCRATCH.with(|s| {
        let mut buf = s.borrow_mut();
        let mut r = get(buf.as_mut_ptr(), buf.len());
        if r < 0 {
            return Err(r as i32);
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
                return Err(r as i32);
            }
        }
        Ok(Value { ty, data: buf[..len].to_vec(), len })
    })
}

/// Reads value `name` of any source.
pub fn get(source: Source, name: &str) -> Result<Value> {
    fetch(|buf, n| unsafe { raw::get(source as u32, name.as_ptr(), name.len(), buf, n) })
        .map_err(|code| Error::host(code, source.describe(name)))
}

fn text(source: Source, name: &str) -> Option<String> {
    get(source, name).ok().map(|v| v.to_text())
}

/// Reads input binding `name` (the trigger included). A binding the host did
/// not send gives a not-found error (`input "msg": not found`); a null one a
/// value of type `None`.
pub fn input(name: &str) -> Result<Value> {
    get(Source::Input, name)
}

/// Reads input binding `name` as a string ([`Value::text`]).
pub fn input_text(name: &str) -> Result<String> {
    let v = input(name)?;
    v.text().ok_or_else(|| Error::msg(format!("input {:?}: a {:?} value is not text", name, v.ty)))
}

/// Reads input binding `name` as JSON into `T`.
#[cfg(feature = "serde")]
pub fn input_json<T: serde::de::DeserializeOwned>(name: &str) -> Result<T> {
    input(name)?.json().map_err(|e| e.context(format!("input {:?}", name)))
}

/// Reads element `index` of the collection input binding `name`.
pub fn item(name: &str, index: usize) -> Result<Value> {
    let what = || format!("input {:?} item {}", name, index);
    let index = i32::try_from(index).map_err(|_| Error::host(Error::NOT_FOUND, what()))?;
    fetch(|buf, n| unsafe { raw::get_item(Source::Input as u32, name.as_ptr(), name.len(), index, buf, n) })
        .map_err(|code| Error::host(code, what()))
}

/// Reads trigger-metadata entry `key` (e.g. `DequeueCount`) as the host
/// sent it; [`metadata_str`], [`metadata_i64`] and [`metadata_f64`] convert.
pub fn metadata(key: &str) -> Result<Value> {
    get(Source::Metadata, key)
}

/// Trigger-metadata entry `key` as a string: a JSON string without its
/// quotes ([`Value::text`]).
pub fn metadata_str(key: &str) -> Result<String> {
    let v = metadata(key)?;
    v.text().ok_or_else(|| Error::msg(format!("metadata {:?}: a {:?} value is not text", key, v.ty)))
}

/// Trigger-metadata entry `key` as an integer, also when it arrives as JSON
/// text (`DequeueCount` does).
pub fn metadata_i64(key: &str) -> Result<i64> {
    let v = metadata(key)?;
    v.as_i64().ok_or_else(|| Error::msg(format!("metadata {:?}: not an integer: {}", key, v.to_text())))
}

/// Trigger-metadata entry `key` as a number.
pub fn metadata_f64(key: &str) -> Result<f64> {
    let v = metadata(key)?;
    v.as_f64().ok_or_else(|| Error::msg(format!("metadata {:?}: not a number: {}", key, v.to_text())))
}

/// Trigger-metadata entry `key` parsed as JSON into `T`.
#[cfg(feature = "serde")]
pub fn metadata_json<T: serde::de::DeserializeOwned>(key: &str) -> Result<T> {
    metadata(key)?.json().map_err(|e| e.context(format!("metadata {:?}", key)))
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

/// The name of the function being invoked (one entry point may serve
/// several declared functions).
pub fn function_name() -> String {
    text(Source::Context, "function_name").unwrap_or_default()
}

/// What the host says about the invocation in progress (SPEC.md §4.2
/// `CONTEXT`). A handler may take it as an argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub invocation_id: String,
    pub function_id: String,
    pub function_name: String,
    /// The retry attempt (0 first), when the function has a retry policy.
    pub retry_count: Option<i64>,
    pub max_retry_count: Option<i64>,
    pub trace_parent: Option<String>,
    pub trace_state: Option<String>,
}

impl Context {
    /// Reads the context of the invocation in progress.
    pub fn current() -> Context {
        let int = |name| get(Source::Context, name).ok().and_then(|v| v.as_i64());
        let opt = |name| text(Source::Context, name).filter(|s| !s.is_empty());
        Context {
            invocation_id: invocation_id(),
            function_id: text(Source::Context, "function_id").unwrap_or_default(),
            function_name: function_name(),
            retry_count: int("retry_count"),
            max_retry_count: int("max_retry_count"),
            trace_parent: opt("trace_parent"),
            trace_state: opt("trace_state"),
        }
    }
}

/// Sets output binding `name` (`"$return"` for the return value) to `data`
/// of type `ty` (`String`, `Json`, `Bytes`, `Int` or `Double`). Setting it
/// again replaces the value.
pub fn set_output(name: &str, ty: Type, data: &[u8]) -> Result<()> {
    check(unsafe { raw::set_output(name.as_ptr(), name.len(), ty.code(), data.as_ptr(), data.len()) }, || {
        format!("output {:?}", name)
    })
}

/// Sets output binding `name` to a string.
pub fn set_output_str(name: &str, s: &str) -> Result<()> {
    set_output(name, Type::String, s.as_bytes())
}

/// Sets output binding `name` to JSON text (validated by the host). With
/// the `serde` feature, `output(name).json(&value)` serializes a value.
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

/// Output binding `name` (`"$return"` for the return value), to set with
/// one of its methods: `wasmworker::output("result").text("done")?`.
pub fn output(name: &str) -> Output<'_> {
    Output { name }
}

/// An output binding to set; see [`output`].
#[derive(Clone, Copy, Debug)]
pub struct Output<'a> {
    name: &'a str,
}

impl Output<'_> {
    /// Sets it to a string.
    pub fn text(&self, s: &str) -> Result<()> {
        set_output(self.name, Type::String, s.as_bytes())
    }

    /// Sets it to bytes.
    pub fn bytes(&self, b: &[u8]) -> Result<()> {
        set_output(self.name, Type::Bytes, b)
    }

    /// Sets it to JSON text (validated by the host).
    pub fn json_text(&self, json: &str) -> Result<()> {
        set_output(self.name, Type::Json, json.as_bytes())
    }

    /// Sets it to an integer.
    pub fn i64(&self, n: i64) -> Result<()> {
        set_output(self.name, Type::Int, &n.to_le_bytes())
    }

    /// Sets it to a double.
    pub fn f64(&self, x: f64) -> Result<()> {
        set_output(self.name, Type::Double, &x.to_le_bytes())
    }

    /// Sets it to `value` serialized as JSON.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text =
            serde_json::to_string(value).map_err(|e| Error::msg(e).context(format!("output {:?}", self.name)))?;
        set_output(self.name, Type::Json, text.as_bytes())
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

/// Logs at level Debug.
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

/// Logs at level Information.
pub fn info(msg: &str) {
    log(Level::Information, msg)
}

/// Logs at level Warning.
pub fn warn(msg: &str) {
    log(Level::Warning, msg)
}

/// Logs at level Error.
pub fn error(msg: &str) {
    log(Level::Error, msg)
}

/// Sets the failure message reported when the entry point returns non-zero.
pub fn set_error(msg: &str) {
    unsafe { raw::set_error(msg.as_ptr(), msg.len()) };
}

/// Installs (once) a panic hook that makes a panic's message and location
/// (`panicked at src/lib.rs:12:5: boom`) the invocation's failure message,
/// before the panic aborts (wasm32-wasi has no unwinding: the instance is
/// discarded). The previous hook still runs, so the panic is also logged.
/// The entry points of [`functions!`], [`entry_points!`] and [`run`] call it.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The hook's argument is not named: its type is PanicInfo in
            // rustc 1.63 and PanicHookInfo in later ones.
            let payload = info.payload();
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "(a non-string panic payload)".to_string()
            };
            set_error(&match info.location() {
                Some(l) => format!("panicked at {}:{}:{}: {}", l.file(), l.line(), l.column(), msg),
                None => format!("panicked: {}", msg),
            });
            previous(info);
        }));
    });
}

/// Runs `handler` as the body of an entry point and returns the entry
/// point's status: 0 on success, 1 after an error, whose text becomes the
/// invocation's failure message. A panic's message becomes it too
/// ([`install_panic_hook`]). [`functions!`] and [`entry_points!`] write
/// entry points for handlers taking typed arguments.
pub fn run<E: fmt::Display>(handler: impl FnOnce() -> std::result::Result<(), E>) -> i32 {
    install_panic_hook();
    match handler() {
        Ok(()) => 0,
        Err(e) => {
            set_error(&e.to_string());
            1
        }
    }
}

/// Declares the module's functions (SPEC.md §2.3) and writes their entry
/// points: one line `handler => declaration` per function, where `handler`
/// is a function in scope and `declaration` a [`Function`].
///
/// ```ignore
/// wasmworker::functions! {
///     hello => Function::http("HttpHello").route("hello/{name?}").methods(["get", "post"]),
///     process_job => Function::queue("ProcessJob", "jobs").output(Binding::queue("result", "results")),
/// }
/// ```
///
/// Each handler is exported (on wasm32) under its own name, which becomes the
/// declaration's `entryPoint` (two lines with the same handler do not
/// compile). A handler takes zero, one or two arguments that implement
/// [`FromInvocation`] ([`http::Request`], [`queue::Message`], [`Value`]
/// (the trigger), [`Context`]) and returns `()`, [`http::Response`], or a
/// `Result` of those with an error that implements `Display`. The macro
/// also exports `wasmworker_functions`, which the worker calls to index the
/// app; a module using it is an *app module*: put it at the app root (as
/// `app.wasm`) with no function.json folders for its functions. Use it
/// once per module. When the SDK is included as a module (one-command
/// build), that module must be `mod wasmworker;` at the crate root.
#[doc(hidden)]
#[macro_export]
macro_rules! __wasmworker_functions {
    ($($handler:ident => $decl:expr),+ $(,)?) => {
        $(
            const _: () = assert!(
                $crate::wasmworker::__private::entry_name_ok(stringify!($handler)),
                concat!("wasmworker::functions!: a handler cannot be named ", stringify!($handler),
                    " (its export would clash with memory, _… or wasmworker_…)")
            );
            const _: () = {
                // Exported on wasm32 only: a native test binary must not
                // export `read` or `write` over libc's.
                #[cfg_attr(target_arch = "wasm32", export_name = stringify!($handler))]
                #[allow(dead_code)]
                pub extern "C" fn __wasmworker_entry() -> i32 {
                    fn __declaration() -> $crate::wasmworker::Function {
                        $decl
                    }
                    $crate::wasmworker::__private::invoke(stringify!($handler), Some(__declaration), $handler)
                }
            };
        )+
        const _: () = {
            #[cfg_attr(target_arch = "wasm32", export_name = "wasmworker_functions")]
            #[allow(dead_code)]
            pub extern "C" fn __wasmworker_functions() -> i32 {
                $crate::wasmworker::__private::declare_all(&[
                    $( (stringify!($handler), (|| $decl) as fn() -> $crate::wasmworker::Function) ),+
                ])
            }
        };
    };
}

/// Writes the entry points of functions declared in function.json files
/// (no `wasmworker_functions` export): one export per handler, named after
/// it (the `entryPoint` of its function.json). Handlers are as for
/// [`functions!`]; a [`queue::Message`] or [`Value`] argument reads the
/// function's only input binding, or the one named `msg`.
///
/// ```ignore
/// wasmworker::entry_points!(hello, process_job);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __wasmworker_entry_points {
    ($($handler:ident),+ $(,)?) => {
        $(
            const _: () = assert!(
                $crate::wasmworker::__private::entry_name_ok(stringify!($handler)),
                concat!("wasmworker::entry_points!: a handler cannot be named ", stringify!($handler),
                    " (its export would clash with memory, _… or wasmworker_…)")
            );
            const _: () = {
                // Exported on wasm32 only: a native test binary must not
                // export `read` or `write` over libc's.
                #[cfg_attr(target_arch = "wasm32", export_name = stringify!($handler))]
                #[allow(dead_code)]
                pub extern "C" fn __wasmworker_entry() -> i32 {
                    $crate::wasmworker::__private::invoke(stringify!($handler), None, $handler)
                }
            };
        )+
    };
}

// Exported under hidden names and re-exported here, so that
// `wasmworker::functions!` names them both when this is a dependency and
// when it is included as a module.
#[doc(inline)]
pub use __wasmworker_entry_points as entry_points;
#[doc(inline)]
pub use __wasmworker_functions as functions;
