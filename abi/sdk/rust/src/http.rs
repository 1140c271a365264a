//! The HTTP request and response of an HTTP-triggered function (SPEC.md
//! §4.2, §5.5).
//!
//! A handler takes a [`Request`] and returns a [`Response`]:
//!
//! ```ignore
//! fn hello(req: http::Request) -> wasmworker::Result<http::Response> {
//!     let name = req.query("name").unwrap_or("world");
//!     Ok(http::Response::text(format!("Hello, {}!", name)))
//! }
//! ```
//!
//! The free functions ([`query`], [`set_status`], [`write_str`], …) read and
//! write the same request and response one part at a time.

use super::{check, fetch, get, keys, raw, text, Error, Result, Source, Type};

/// An HTTP request: method, URL, headers, query and route parameters, and
/// body, read from the invocation ([`Request::read`], or as a handler's
/// argument) or built for a test ([`Request::new`] and the `with_*`
/// methods).
///
/// Headers, query and route parameters and the body are read from the host
/// when first asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: Lazy<String>,
    headers: Lazy<Vec<(String, String)>>,
    query: Lazy<Vec<(String, String)>>,
    params: Lazy<Vec<(String, String)>>,
    body: Lazy<Vec<u8>>,
    // Single values asked for by name, read from the host one at a time
    // (the host matches names as SPEC.md §4.2 says).
    looked: Lookups,
    from_host: bool,
}

/// A value read by name: (source, name, value).
type Looked = (u8, String, Option<String>);

/// Values read by name. Append-only while a
/// reference into it lives: each entry is boxed, so its strings stay put
/// when the vector grows.
#[derive(Default)]
struct Lookups {
    #[allow(clippy::vec_box)] // the Box keeps each entry's address when the vector grows
    cell: std::cell::UnsafeCell<Vec<Box<Looked>>>,
}

impl Lookups {
    fn get(&self, source: Source, name: &str) -> Option<&str> {
        // Sound: entries are only appended (never changed or removed) while
        // &self lives, each in its own Box, and nothing else borrows the
        // vector during the push; UnsafeCell makes Lookups !Sync.
        unsafe {
            let list = &mut *self.cell.get();
            let i = match list.iter().position(|e| e.0 == source as u8 && e.1 == name) {
                Some(i) => i,
                None => {
                    list.push(Box::new((source as u8, name.to_string(), text(source, name))));
                    list.len() - 1
                }
            };
            let entry: &Looked = &*(&*list[i] as *const Looked);
            entry.2.as_deref()
        }
    }
}

impl Clone for Lookups {
    fn clone(&self) -> Lookups {
        Lookups::default()
    }
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookups")
    }
}

impl PartialEq for Lookups {
    fn eq(&self, _: &Lookups) -> bool {
        true
    }
}

impl Eq for Lookups {}

/// A value computed on first use (a single-threaded `OnceCell`, which
/// rustc 1.63 lacks).
#[derive(Default)]
struct Lazy<T> {
    cell: std::cell::UnsafeCell<Option<T>>,
}

impl<T> Lazy<T> {
    fn new(v: T) -> Lazy<T> {
        Lazy { cell: std::cell::UnsafeCell::new(Some(v)) }
    }

    fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        // Sound: the cell is written once, while nothing borrows from it (it
        // is None until then and init does not reach this cell), and never
        // again while &self lives; UnsafeCell makes Lazy !Sync.
        unsafe {
            if (*self.cell.get()).is_none() {
                let v = init();
                *self.cell.get() = Some(v);
            }
            (*self.cell.get()).as_ref().unwrap_or_else(|| unreachable!())
        }
    }

    fn get_mut(&mut self) -> &mut Option<T> {
        self.cell.get_mut()
    }

    fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    fn peek(&self) -> Option<&T> {
        unsafe { (*self.cell.get()).as_ref() }
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Lazy<T> {
        Lazy { cell: std::cell::UnsafeCell::new(self.peek().cloned()) }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.peek() {
            Some(v) => v.fmt(f),
            None => f.write_str("(not read yet)"),
        }
    }
}

impl<T: PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Lazy<T>) -> bool {
        self.peek() == other.peek()
    }
}

impl<T: Eq> Eq for Lazy<T> {}

impl Request {
    /// Reads the request of the invocation in progress: the first input
    /// binding whose value is HTTP (the trigger of an HTTP function).
    pub fn read() -> Result<Request> {
        let method = get(Source::Http, "method").map_err(|e| e.context("http request"))?.to_text();
        Ok(Request { method, from_host: true, ..Request::default() })
    }

    /// A request for a test: `Request::new("GET", "https://x/api/hello?name=a")`.
    /// Query parameters are not parsed from the URL: add them with
    /// [`with_query`](Request::with_query), as the host delivers them.
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: Lazy::new(url.to_string()),
            headers: Lazy::new(Vec::new()),
            query: Lazy::new(Vec::new()),
            params: Lazy::new(Vec::new()),
            body: Lazy::new(Vec::new()),
            looked: Lookups::default(),
            from_host: false,
        }
    }

    /// Adds a header (for tests).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.get_mut().get_or_insert_with(Vec::new).push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a query parameter (for tests).
    pub fn with_query(mut self, name: &str, value: &str) -> Request {
        self.query.get_mut().get_or_insert_with(Vec::new).push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a route parameter (for tests).
    pub fn with_param(mut self, name: &str, value: &str) -> Request {
        self.params.get_mut().get_or_insert_with(Vec::new).push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (for tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        *self.body.get_mut() = Some(body.into());
        self
    }

    /// The method, upper-case as the host sends it (`GET`).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The full URL (`https://host/api/hello?name=a`).
    pub fn uri(&self) -> &str {
        self.url.get_or_init(|| if self.from_host { url() } else { String::new() })
    }

    /// The URL's path (`/api/hello`).
    pub fn path(&self) -> &str {
        let url = self.uri();
        let rest = match url.find("://") {
            Some(i) => &url[i + 3..],
            None => url,
        };
        let start = if url.contains("://") { rest.find('/').unwrap_or(rest.len()) } else { 0 };
        let rest = &rest[start..];
        let end = rest.find(['?', '#']).unwrap_or(rest.len());
        if end == 0 {
            "/"
        } else {
            &rest[..end]
        }
    }

    /// Header `name`, matched case-insensitively (the host joins several
    /// values with `,`).
    pub fn header(&self, name: &str) -> Option<&str> {
        if self.from_host && self.headers.peek().is_none() {
            return self.looked.get(Source::HttpHeader, name);
        }
        self.headers().iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All headers, sorted by name.
    pub fn headers(&self) -> &[(String, String)] {
        self.headers.get_or_init(|| self.pairs(Source::HttpHeader))
    }

    /// Query parameter `name`: an exact match first, then a
    /// case-insensitive one. `Some("")` for `?name=`.
    pub fn query(&self, name: &str) -> Option<&str> {
        if self.from_host && self.query.peek().is_none() {
            return self.looked.get(Source::HttpQuery, name);
        }
        lookup(self.query_pairs(), name)
    }

    /// All query parameters, sorted by name.
    pub fn query_pairs(&self) -> &[(String, String)] {
        self.query.get_or_init(|| self.pairs(Source::HttpQuery))
    }

    /// Route parameter `name` (`{name}` in the route), exact match first,
    /// then case-insensitive.
    pub fn param(&self, name: &str) -> Option<&str> {
        if self.from_host && self.params.peek().is_none() {
            return self.looked.get(Source::HttpParam, name);
        }
        lookup(self.params(), name)
    }

    /// All route parameters, sorted by name.
    pub fn params(&self) -> &[(String, String)] {
        self.params.get_or_init(|| self.pairs(Source::HttpParam))
    }

    /// The body (empty when there is none).
    pub fn body(&self) -> &[u8] {
        self.body.get_or_init(|| if self.from_host { body() } else { Vec::new() })
    }

    /// The body, taken out of the request.
    pub fn into_body(self) -> Vec<u8> {
        self.body();
        self.body.into_inner().unwrap_or_default()
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(self.body()).map_err(|e| Error::msg(format!("http request body: {}", e)))
    }

    /// The body parsed as JSON into `T`.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.body()).map_err(|e| Error::msg(format!("http request body: invalid JSON: {}", e)))
    }
}

/// Exact match first, then case-insensitive (SPEC.md §4.2).
fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .or_else(|| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// Every entry of a source of the invocation's request (none for a
    /// request built for a test).
    fn pairs(&self, source: Source) -> Vec<(String, String)> {
        if self.from_host {
            pairs(source)
        } else {
            Vec::new()
        }
    }
}

/// Every entry of a source: its names (get_key) and values.
fn pairs(source: Source) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0.. {
        let name = match fetch(|buf, n| unsafe { raw::get_key(source as u32, i, buf, n) }) {
            Ok(v) => v.to_text(),
            Err(_) => break,
        };
        let value = text(source, &name).unwrap_or_default();
        out.push((name, value));
    }
    out
}

/// An HTTP response: status (200 unless set), headers, cookies and body.
/// Build one with [`Response::text`], [`Response::json`],
/// [`Response::bytes`], [`Response::empty`] or [`Response::builder`]; a
/// handler returns it and the SDK sends it ([`Response::send`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
    body: Vec<u8>,
    body_type: Type,
}

impl Default for Response {
    fn default() -> Response {
        Response { status: 200, headers: Vec::new(), cookies: Vec::new(), body: Vec::new(), body_type: Type::Bytes }
    }
}

impl Response {
    /// A builder: `Response::builder().status(201).header("location", "/x").text("made")`.
    pub fn builder() -> Builder {
        Builder { response: Response::default() }
    }

    /// 200 with a text body and `content-type: text/plain; charset=utf-8`.
    pub fn text(body: impl Into<String>) -> Response {
        Response::builder().text(body)
    }

    /// 200 with a body of bytes and no content type.
    pub fn bytes(body: impl Into<Vec<u8>>) -> Response {
        Response::builder().body(body)
    }

    /// A response with `status` and no body (`Response::empty(204)`).
    pub fn empty(status: u16) -> Response {
        Response::builder().status(status).body(Vec::new())
    }

    /// 200 with `value` serialized as JSON and `content-type:
    /// application/json`.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Response> {
        Response::builder().json(value)
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, in the order they were added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Header `name` (case-insensitive), the first one added.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The cookies, in `Set-Cookie` syntax.
    pub fn cookies(&self) -> &[String] {
        &self.cookies
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Sends it as the invocation's HTTP response (the function's `http`
    /// output binding). A handler that returns it needs not call this.
    pub fn send(&self) -> Result<()> {
        if self.status != 200 {
            set_status(self.status)?; // the host's response starts as 200
        }
        for (name, value) in &self.headers {
            set_header(name, value)?;
        }
        for c in &self.cookies {
            add_cookie(c)?;
        }
        set_body(self.body_type, &self.body)
    }
}

/// Builds a [`Response`]; [`Response::builder`].
#[derive(Clone, Debug)]
pub struct Builder {
    response: Response,
}

impl Builder {
    /// Sets the status (100–999).
    pub fn status(mut self, status: u16) -> Builder {
        self.response.status = status;
        self
    }

    /// Adds a header; adding a name twice joins the values with `, `.
    pub fn header(mut self, name: &str, value: &str) -> Builder {
        self.response.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a cookie in `Set-Cookie` syntax, e.g. `id=1; Path=/; HttpOnly`.
    pub fn cookie(mut self, set_cookie: &str) -> Builder {
        self.response.cookies.push(set_cookie.to_string());
        self
    }

    /// Finishes with a body of bytes (no content type unless set).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.response.body = body.into();
        self.response.body_type = Type::Bytes;
        self.response
    }

    /// Finishes with a text body; sets `content-type: text/plain;
    /// charset=utf-8` unless a content type is set.
    pub fn text(mut self, body: impl Into<String>) -> Response {
        if self.response.header("content-type").is_none() {
            self = self.header("content-type", "text/plain; charset=utf-8");
        }
        self.response.body = body.into().into_bytes();
        self.response.body_type = Type::String;
        self.response
    }

    /// Finishes with a body of JSON text; sets `content-type:
    /// application/json` unless a content type is set. The text is sent as
    /// it is (as a STRING body: a JSON-typed body would be re-serialized by
    /// the host).
    pub fn json_text(mut self, json: impl Into<String>) -> Response {
        if self.response.header("content-type").is_none() {
            self = self.header("content-type", "application/json");
        }
        self.response.body = json.into().into_bytes();
        self.response.body_type = Type::String;
        self.response
    }

    /// Finishes with `value` serialized as JSON; sets `content-type:
    /// application/json` unless a content type is set.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Response> {
        let text = serde_json::to_string(value).map_err(|e| Error::msg(format!("http response body: {}", e)))?;
        Ok(self.json_text(text))
    }
}

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
    check(unsafe { raw::http_status(i32::from(status)) }, || format!("http response status {}", status))
}

/// Adds a response header; adding a name twice joins the values.
pub fn set_header(name: &str, value: &str) -> Result<()> {
    check(unsafe { raw::http_header(name.as_ptr(), name.len(), value.as_ptr(), value.len()) }, || {
        format!("http response header {:?}", name)
    })
}

/// Adds a cookie given in Set-Cookie syntax, e.g. `id=1; Path=/; HttpOnly`.
pub fn add_cookie(set_cookie: &str) -> Result<()> {
    check(unsafe { raw::http_cookie(set_cookie.as_ptr(), set_cookie.len()) }, || {
        format!("http response cookie {:?}", set_cookie)
    })
}

/// Sets the response body; `ty` is `String`, `Bytes` or `Json`.
pub fn set_body(ty: Type, body: &[u8]) -> Result<()> {
    check(unsafe { raw::http_body(ty.code(), body.as_ptr(), body.len()) }, || "http response body".to_string())
}

/// Sets the response body to text.
pub fn write_str(s: &str) -> Result<()> {
    set_body(Type::String, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lookups() {
        let r = Request::new("POST", "https://h.example/api/hello/x?Name=a")
            .with_header("Content-Type", "text/plain")
            .with_query("Name", "a")
            .with_param("who", "b")
            .with_body("hi");
        assert_eq!(r.path(), "/api/hello/x");
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.query("name"), Some("a"));
        assert_eq!(r.param("WHO"), Some("b"));
        assert_eq!(r.text().unwrap(), "hi");
        assert_eq!(Request::new("GET", "https://h").path(), "/");
    }

    #[test]
    fn response_builders() {
        let r = Response::text("hi");
        assert_eq!(
            (r.status(), r.header("Content-Type"), r.body()),
            (200, Some("text/plain; charset=utf-8"), &b"hi"[..])
        );
        let r = Response::builder().status(201).header("content-type", "text/html").text("<p>");
        assert_eq!(r.headers().len(), 1);
        assert_eq!(Response::empty(204).status(), 204);
    }
}
