//! Outbound HTTP requests, sent by the worker on the guest's behalf
//! (SPEC.md §5.7).
//!
//! A guest has no sockets: [`send`] hands a [`Request`] to the host, which
//! checks it against the function's grant (`allowedHosts` in function.json
//! `"wasmworker"`, or the app setting `WASMWORKER_ALLOWED_HOSTS`; nothing is
//! allowed by default), sends it, follows redirects to allowed destinations
//! and returns the [`Response`] once its status and headers are in. The body
//! is then read in chunks through [`std::io::Read`], or whole with
//! [`Response::bytes`] and [`Response::text`].
//!
//! ```ignore
//! use wasmworker::outbound::{self, Request};
//!
//! let weather = outbound::get("https://api.example.com/weather?city=Oslo")?.text()?;
//! let created = Request::post("https://api.example.com/items")
//!     .header("content-type", "application/json")
//!     .body(r#"{"name":"pen"}"#)
//!     .send()?;
//! assert_eq!(created.status(), 201);
//! ```
//!
//! A refused or failed request is an [`Error`] with the host's message,
//! which names the URL and what refused it (the setting that would allow
//! it, the limit reached, or the network error); the invocation goes on and
//! the guest decides. Limits per invocation (SPEC.md §7): 50 requests,
//! 16 MiB of response bodies, 8 responses open at once.

use std::fmt;
use std::io;

use super::{code_text, fetch, raw};

/// What kind of failure an [`Error`] is: the host's error code (SPEC.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The grant or the address rules refuse the destination (`DENIED`).
    Denied,
    /// A per-invocation limit would be exceeded: requests, response bytes,
    /// open responses or the request body's size (`LIMIT`).
    Limit,
    /// The request or its body could not be completed: name resolution,
    /// connect, TLS, protocol error, too many redirects, the invocation's
    /// deadline or cancellation (`HTTP_FAILED`).
    Failed,
    /// A malformed method, URL or header (`BAD_VALUE`).
    BadValue,
    /// Text that is not UTF-8 (`BAD_UTF8`).
    BadUtf8,
    /// The response is not open any more (`BAD_HANDLE`).
    BadHandle,
    /// Called outside an invocation, e.g. during `_initialize`
    /// (`NO_INVOCATION`).
    NoInvocation,
    /// Another code.
    Other(i32),
}

impl ErrorKind {
    /// The code on the wire (SPEC.md §6).
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::Denied => -13,
            ErrorKind::Limit => -9,
            ErrorKind::Failed => -14,
            ErrorKind::BadValue => -11,
            ErrorKind::BadUtf8 => -5,
            ErrorKind::BadHandle => -15,
            ErrorKind::NoInvocation => -10,
            ErrorKind::Other(n) => n,
        }
    }

    /// The kind of a code.
    pub fn from_code(code: i32) -> ErrorKind {
        match code {
            -13 => ErrorKind::Denied,
            -9 => ErrorKind::Limit,
            -14 => ErrorKind::Failed,
            -11 => ErrorKind::BadValue,
            -5 => ErrorKind::BadUtf8,
            -15 => ErrorKind::BadHandle,
            -10 => ErrorKind::NoInvocation,
            n => ErrorKind::Other(n),
        }
    }
}

/// A refused or failed outbound request, or a failed read of its body.
///
/// It displays as the host's message; it converts into the crate's
/// [`Error`](super::Error) (keeping the message, see there) and into
/// [`std::io::Error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The host's error code (SPEC.md §6).
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// The host's message (from `outbound_error`), or the SDK's for a
    /// request it refused to pass on; "" when there is none.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error of a failed import: its code and the host's message.
    fn from_host(code: i32) -> Error {
        let message = fetch(|buf, n| unsafe { raw::outbound_error(buf, n) })
            .map(|v| v.to_text())
            .unwrap_or_default();
        Error { kind: ErrorKind::from_code(code), message }
    }

    /// A request the SDK does not pass on because the head would be
    /// malformed.
    fn bad_value(message: String) -> Error {
        Error { kind: ErrorKind::BadValue, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.message.is_empty() {
            f.write_str(&self.message)
        } else if let Some(text) = code_text(self.code()) {
            write!(f, "outbound request: {}", text)
        } else {
            write!(f, "outbound request: error {}", self.code())
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind {
            ErrorKind::Denied => io::ErrorKind::PermissionDenied,
            ErrorKind::BadValue | ErrorKind::BadUtf8 => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// An HTTP request to send: a method, an absolute `http` or `https` URL,
/// headers and a body. Build it with [`Request::get`], [`Request::post`], …
/// and the chaining methods [`header`](Request::header) and
/// [`body`](Request::body).
///
/// `Host`, `Content-Length`, `Transfer-Encoding`, `Connection` and the other
/// hop-by-hop headers are set by the host; given ones are ignored. The host
/// adds a `User-Agent` naming the worker when there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with any method (e.g. `"OPTIONS"`), no headers and no body.
    pub fn new(method: &str, url: &str) -> Request {
        Request { method: method.to_string(), url: url.to_string(), headers: Vec::new(), body: Vec::new() }
    }

    /// A GET request.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A HEAD request.
    pub fn head(url: &str) -> Request {
        Request::new("HEAD", url)
    }

    /// A POST request.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// A PUT request.
    pub fn put(url: &str) -> Request {
        Request::new("PUT", url)
    }

    /// A PATCH request.
    pub fn patch(url: &str) -> Request {
        Request::new("PATCH", url)
    }

    /// A DELETE request.
    pub fn delete(url: &str) -> Request {
        Request::new("DELETE", url)
    }

    /// Adds a header value; adding a name again sends it twice.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (at most 16 MiB). Set `content-type` yourself.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers, in the order they were added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Sends the request: the same as [`send`]`(&self)`.
    pub fn send(&self) -> Result<Response, Error> {
        send(self)
    }

    /// The head of SPEC.md §5.7: `METHOD URL`, then `Name: value` lines.
    /// Checked here so that a value cannot smuggle in a line of its own.
    fn encode_head(&self) -> Result<String, Error> {
        if !is_token(&self.method) {
            return Err(Error::bad_value(format!("outbound request: invalid method {:?}", self.method)));
        }
        if self.url.is_empty() || self.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::bad_value(format!("outbound request: invalid URL {:?}", self.url)));
        }
        let mut head = String::with_capacity(
            self.method.len() + self.url.len() + 2 + self.headers.iter().map(|(n, v)| n.len() + v.len() + 3).sum::<usize>(),
        );
        head.push_str(&self.method);
        head.push(' ');
        head.push_str(&self.url);
        head.push('\n');
        for (name, value) in &self.headers {
            if !is_token(name) {
                return Err(Error::bad_value(format!("outbound request to {}: invalid header name {:?}", self.url, name)));
            }
            if value.contains(['\r', '\n', '\0']) {
                return Err(Error::bad_value(format!(
                    "outbound request to {}: header {} has CR, LF or NUL in its value",
                    self.url, name
                )));
            }
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push('\n');
        }
        Ok(head)
    }
}

/// Whether s is an HTTP token (RFC 9110 §5.6.2): a method or a header name.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Sends `request` and waits for the response's status and headers.
///
/// Errors: [`ErrorKind::Denied`] when the grant or the address rules refuse
/// the URL (or a redirect's), [`ErrorKind::Limit`], [`ErrorKind::Failed`]
/// when the request could not be completed, [`ErrorKind::BadValue`] for a
/// malformed method, URL or header.
pub fn send(request: &Request) -> Result<Response, Error> {
    let head = request.encode_head()?;
    let body = &request.body;
    let handle = unsafe { raw::outbound_send(head.as_ptr(), head.len(), body.as_ptr(), body.len()) };
    if handle <= 0 {
        return Err(Error::from_host(handle));
    }
    // Owned from here on: an early return closes it.
    let mut response = Response { handle, status: 0, headers: Vec::new() };
    let status = unsafe { raw::outbound_status(handle) };
    if status < 0 {
        return Err(Error::from_host(status));
    }
    response.status = status as u16;
    let headers = fetch(|buf, n| unsafe { raw::outbound_headers(handle, buf, n) })
        .map_err(Error::from_host)?;
    response.headers = parse_headers(&headers.to_text());
    Ok(response)
}

/// Sends a GET request to `url`.
pub fn get(url: &str) -> Result<Response, Error> {
    send(&Request::get(url))
}

/// Parses `Name: value` lines.
fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim_start().to_string()))
        .collect()
}

/// The response to a [`Request`]: its status and headers, and its body,
/// read in chunks through [`std::io::Read`] or whole with
/// [`bytes`](Response::bytes) or [`text`](Response::text).
///
/// Dropping it releases it on the host (a function may hold at most 8 open
/// responses); so does reading its body to the end.
#[derive(Debug)]
pub struct Response {
    handle: i32, // 0 once released
    status: u16,
    headers: Vec<(String, String)>,
}

impl Response {
    /// The status code (100–599) of the last response, after redirects.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers, one entry per value, names in canonical form
    /// (`Content-Type`), sorted by name.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Reads the rest of the body.
    pub fn bytes(mut self) -> Result<Vec<u8>, Error> {
        // Presize from Content-Length, within reason: the host enforces the
        // response byte budget whatever the header says.
        let hint = self.header("content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let mut out: Vec<u8> = Vec::with_capacity(hint.clamp(4096, 1 << 20));
        while self.handle != 0 {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let spare = out.capacity() - out.len();
            // SAFETY: the host writes at most `spare` bytes into the spare
            // capacity and returns how many it wrote.
            let n = unsafe { self.read_raw(out.as_mut_ptr().add(out.len()), spare)? };
            unsafe { out.set_len(out.len() + n) };
        }
        Ok(out)
    }

    /// Reads the rest of the body as text, replacing invalid UTF-8 with
    /// U+FFFD.
    pub fn text(self) -> Result<String, Error> {
        let bytes = self.bytes()?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Releases the response now (dropping it does the same).
    pub fn close(self) {}

    /// Reads the next bytes of the body into `buf`, `len` bytes at most;
    /// 0 at the end, where the response is released. A failed read releases
    /// it too.
    unsafe fn read_raw(&mut self, buf: *mut u8, len: usize) -> Result<usize, Error> {
        if self.handle == 0 || len == 0 {
            return Ok(0);
        }
        let n = raw::outbound_read(self.handle, buf, len);
        if n < 0 {
            let err = Error::from_host(n);
            self.release();
            return Err(err);
        }
        if n == 0 {
            self.release();
        }
        Ok(n as usize)
    }

    fn release(&mut self) {
        if self.handle != 0 {
            unsafe { raw::outbound_close(self.handle) };
            self.handle = 0;
        }
    }
}

impl io::Read for Response {
    /// Reads the next chunk of the body: what has arrived, up to
    /// `buf.len()` bytes; `Ok(0)` at the end.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        unsafe { self.read_raw(buf.as_mut_ptr(), buf.len()) }.map_err(io::Error::from)
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_lists_method_url_and_headers() {
        let r = Request::post("https://api.example.com/items?x=1")
            .header("Content-Type", "application/json")
            .header("X-Id", "7")
            .body("{}");
        assert_eq!(
            r.encode_head().unwrap(),
            "POST https://api.example.com/items?x=1\nContent-Type: application/json\nX-Id: 7\n"
        );
        assert_eq!(r.body_bytes(), b"{}");
    }

    #[test]
    fn head_refuses_what_would_break_its_lines() {
        for r in [
            Request::new("GE T", "http://a/"),
            Request::new("", "http://a/"),
            Request::get("http://a/ b"),
            Request::get("http://a/\nX: 1"),
            Request::get(""),
            Request::get("http://a/").header("X-Bad", "a\r\nInjected: 1"),
            Request::get("http://a/").header("X-Bad", "a\0"),
            Request::get("http://a/").header("Bad Name", "1"),
            Request::get("http://a/").header("", "1"),
        ] {
            let e = r.encode_head().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadValue, "{:?}", r);
            assert!(!e.message().is_empty());
        }
    }

    #[test]
    fn headers_parse_one_entry_per_value() {
        let h = parse_headers("Content-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\nX-Empty:\n");
        let want: Vec<(String, String)> = [
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-Empty", ""),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(h, want);
    }

    #[test]
    fn codes_round_trip() {
        for code in [-5, -9, -10, -11, -13, -14, -15, -3] {
            assert_eq!(ErrorKind::from_code(code).code(), code);
        }
        assert_eq!(ErrorKind::from_code(-13), ErrorKind::Denied);
        assert_eq!(ErrorKind::from_code(-14), ErrorKind::Failed);
    }
}
