// AssemblyScript SDK of the wasmworker guest ABI v1 (abi/SPEC.md): read the
// bindings of an Azure Functions invocation, write its outputs and HTTP
// response, log, and send HTTP requests (fetch), through the worker's host
// imports.
//
// A function is an exported entry point of type () => i32 that runs a
// handler:
//
//   import * as ww from "wasmworker";
//   export function run(): i32 { return ww.run(handle); }
//   function handle(): void { ww.http.writeString("Hello, " + ww.http.query("name")); }
//
// Build with this package's asconfig.json (WASI shim, _initialize, and the
// version marker of ./version.ts). Every function here is only meaningful
// while an entry point runs; an instance serves one invocation at a time.

// ---- the raw imports (module "wasmworker"), SPEC.md §5 ----

// @ts-ignore: decorator
@external("wasmworker", "get")
declare function abi_get(source: u32, name: usize, nameLen: usize, buf: usize, bufLen: usize): i64;
// @ts-ignore: decorator
@external("wasmworker", "get_item")
declare function abi_get_item(source: u32, name: usize, nameLen: usize, index: i32, buf: usize, bufLen: usize): i64;
// @ts-ignore: decorator
@external("wasmworker", "get_key")
declare function abi_get_key(source: u32, index: i32, buf: usize, bufLen: usize): i64;
// @ts-ignore: decorator
@external("wasmworker", "set_output")
declare function abi_set_output(name: usize, nameLen: usize, type: u32, data: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "set_error")
declare function abi_set_error(msg: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "http_status")
declare function abi_http_status(status: i32): i32;
// @ts-ignore: decorator
@external("wasmworker", "http_header")
declare function abi_http_header(name: usize, nameLen: usize, value: usize, valueLen: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "http_cookie")
declare function abi_http_cookie(cookie: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "http_body")
declare function abi_http_body(type: u32, data: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "log")
declare function abi_log(level: i32, msg: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "outbound_send")
declare function abi_outbound_send(head: usize, headLen: usize, body: usize, bodyLen: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "outbound_status")
declare function abi_outbound_status(handle: i32): i32;
// @ts-ignore: decorator
@external("wasmworker", "outbound_headers")
declare function abi_outbound_headers(handle: i32, buf: usize, bufLen: usize): i64;
// @ts-ignore: decorator
@external("wasmworker", "outbound_read")
declare function abi_outbound_read(handle: i32, buf: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("wasmworker", "outbound_close")
declare function abi_outbound_close(handle: i32): i32;
// @ts-ignore: decorator
@external("wasmworker", "outbound_error")
declare function abi_outbound_error(buf: usize, bufLen: usize): i64;

/** A value's type tag (SPEC.md §4.1). */
export enum Type {
  None = 0,
  String = 1,
  JSON = 2,
  Bytes = 3,
  Stream = 4,
  HTTP = 5,
  Int = 6,
  Double = 7,
  CollectionBytes = 8,
  CollectionString = 9,
  CollectionDouble = 10,
  CollectionInt = 11,
}

/** Whether t is one of the collection types. */
export function isCollection(t: Type): bool {
  return t >= Type.CollectionBytes && t <= Type.CollectionInt;
}

/** Sources of values (SPEC.md §4.2). */
export enum Source {
  Input = 0,
  Metadata = 1,
  Context = 2,
  HTTP = 3,
  HTTPHeader = 4,
  HTTPQuery = 5,
  HTTPParam = 6,
}

/** Error codes returned by the host (SPEC.md §6). */
export namespace Err {
  export const NotFound: i32 = -1;
  export const BadSource: i32 = -2;
  export const Memory: i32 = -3;
  export const BadType: i32 = -4;
  export const BadUTF8: i32 = -5;
  export const BadJSON: i32 = -6;
  export const NotOutput: i32 = -7;
  export const NoHTTP: i32 = -8;
  export const Limit: i32 = -9;
  export const NoInvocation: i32 = -10;
  export const BadValue: i32 = -11;
  export const Unsupported: i32 = -12;
  /** An outbound request the grant or the address rules refuse. */
  export const Denied: i32 = -13;
  /** An outbound request or its body could not be completed. */
  export const HTTPFailed: i32 = -14;
  /** Not an open outbound response. */
  export const BadHandle: i32 = -15;
}

/** Log levels (RpcLog.Level). */
export enum Level {
  Trace = 0,
  Debug = 1,
  Information = 2,
  Warning = 3,
  Error = 4,
  Critical = 5,
}

/**
 * A value read from the host: its type and bytes, or the host's error code
 * (code < 0, e.g. Err.NotFound) when there is none. For a collection, len is
 * the element count and data is empty.
 */
export class Value {
  constructor(public code: i32, public type: Type, public data: Uint8Array, public len: i32) {}

  /** Whether the read succeeded. */
  get ok(): bool {
    return this.code == 0;
  }

  /** The bytes as UTF-8 text; a number in decimal; "" on error. */
  text(): string {
    if (this.type == Type.Int && this.data.length == 8) return this.int().toString();
    if (this.type == Type.Double && this.data.length == 8) return this.double().toString();
    return String.UTF8.decode(this.data.buffer);
  }

  /** An Int value (0 for another type). */
  int(): i64 {
    return this.type == Type.Int && this.data.length == 8 ? load<i64>(this.data.dataStart) : 0;
  }

  /** A Double value (0 for another type). */
  double(): f64 {
    return this.type == Type.Double && this.data.length == 8 ? load<f64>(this.data.dataStart) : 0;
  }
}

// The reusable buffer getters copy into first (SPEC.md §5.1).
let scratch = new Uint8Array(4096);

// Kinds of getter for getValue.
const GET: i32 = 0;
const GET_ITEM: i32 = 1;
const GET_KEY: i32 = 2;

function call(kind: i32, source: Source, name: ArrayBuffer, index: i32, buf: usize, len: usize): i64 {
  const np = changetype<usize>(name);
  const nl = <usize>name.byteLength;
  if (kind == GET) return abi_get(source, np, nl, buf, len);
  if (kind == GET_ITEM) return abi_get_item(source, np, nl, index, buf, len);
  return abi_get_key(source, index, buf, len);
}

function getValue(kind: i32, source: Source, name: string, index: i32): Value {
  const n = String.UTF8.encode(name);
  let r = call(kind, source, n, index, scratch.dataStart, <usize>scratch.length);
  if (r < 0) return new Value(<i32>r, Type.None, new Uint8Array(0), 0);
  const type = <Type>(<u32>(r >> 32));
  const len = <i32>(<u32>r);
  if (isCollection(type) || type == Type.HTTP || type == Type.None) {
    return new Value(0, type, new Uint8Array(0), len);
  }
  if (len > scratch.length) {
    scratch = new Uint8Array(len);
    r = call(kind, source, n, index, scratch.dataStart, <usize>scratch.length);
    if (r < 0) return new Value(<i32>r, Type.None, new Uint8Array(0), 0);
  }
  return new Value(0, type, scratch.slice(0, len), len);
}

/** Reads value name of any source. */
export function get(source: Source, name: string): Value {
  return getValue(GET, source, name, 0);
}

/** Reads input binding name (the trigger included). */
export function input(name: string): Value {
  return getValue(GET, Source.Input, name, 0);
}

/** Reads element index of the collection input binding name. */
export function item(name: string, index: i32): Value {
  return getValue(GET_ITEM, Source.Input, name, index);
}

/** Reads trigger-metadata entry key (e.g. "DequeueCount"). */
export function metadata(key: string): Value {
  return getValue(GET, Source.Metadata, key, 0);
}

/** The names of a source's entries (inputs, metadata, headers, query or route parameters), sorted. */
export function keys(source: Source): string[] {
  const out = new Array<string>();
  for (let i = 0; ; i++) {
    const v = getValue(GET_KEY, source, "", i);
    if (!v.ok) break;
    out.push(v.text());
  }
  return out;
}

function text(source: Source, name: string): string {
  const v = getValue(GET, source, name, 0);
  return v.ok ? v.text() : "";
}

/** The id of the invocation in progress. */
export function invocationId(): string {
  return text(Source.Context, "invocation_id");
}

/** Sets output binding name ("$return" for the return value) to bytes of type t. Returns 0 or an Err code. */
export function setOutput(name: string, t: Type, data: Uint8Array): i32 {
  const n = String.UTF8.encode(name);
  return abi_set_output(changetype<usize>(n), n.byteLength, t, data.dataStart, data.length);
}

/** Sets output binding name to a string. */
export function setOutputString(name: string, s: string): i32 {
  return setOutput(name, Type.String, Uint8Array.wrap(String.UTF8.encode(s)));
}

/** Sets output binding name to JSON text (validated by the host). */
export function setOutputJSON(name: string, json: string): i32 {
  return setOutput(name, Type.JSON, Uint8Array.wrap(String.UTF8.encode(json)));
}

/** Sets output binding name to an integer. */
export function setOutputInt(name: string, v: i64): i32 {
  const b = new Uint8Array(8);
  store<i64>(b.dataStart, v);
  return setOutput(name, Type.Int, b);
}

/** Sets output binding name to a double. */
export function setOutputDouble(name: string, v: f64): i32 {
  const b = new Uint8Array(8);
  store<f64>(b.dataStart, v);
  return setOutput(name, Type.Double, b);
}

/** The HTTP request and response (SPEC.md §4.2, §5.5). */
export namespace http {
  /** The request method ("" without an HTTP request). */
  export function method(): string {
    return text(Source.HTTP, "method");
  }
  /** The request's full URL. */
  export function url(): string {
    return text(Source.HTTP, "url");
  }
  /** Request header name (case-insensitive), or "". */
  export function header(name: string): string {
    return text(Source.HTTPHeader, name);
  }
  /** Query parameter name, or "". */
  export function query(name: string): string {
    return text(Source.HTTPQuery, name);
  }
  /** Route parameter name, or "". */
  export function param(name: string): string {
    return text(Source.HTTPParam, name);
  }
  /** The request's header names, sorted. */
  export function headerNames(): string[] {
    return keys(Source.HTTPHeader);
  }
  /** The request body (empty when there is none). */
  export function body(): Uint8Array {
    return getValue(GET, Source.HTTP, "body", 0).data;
  }
  /** Sets the response status (the response starts as 200). */
  export function setStatus(status: i32): i32 {
    return abi_http_status(status);
  }
  /** Adds a response header; adding a name twice joins the values. */
  export function setHeader(name: string, value: string): i32 {
    const n = String.UTF8.encode(name);
    const v = String.UTF8.encode(value);
    return abi_http_header(changetype<usize>(n), n.byteLength, changetype<usize>(v), v.byteLength);
  }
  /** Adds a cookie in Set-Cookie syntax, e.g. "id=1; Path=/; HttpOnly". */
  export function addCookie(setCookie: string): i32 {
    const c = String.UTF8.encode(setCookie);
    return abi_http_cookie(changetype<usize>(c), c.byteLength);
  }
  /** Sets the response body; t is Type.String, Type.Bytes or Type.JSON. */
  export function setBody(t: Type, body: Uint8Array): i32 {
    return abi_http_body(t, body.dataStart, body.length);
  }
  /** Sets the response body to text. */
  export function writeString(s: string): i32 {
    const b = String.UTF8.encode(s);
    return abi_http_body(Type.String, changetype<usize>(b), b.byteLength);
  }
}

/** Writes a log entry of the invocation. */
export function log(level: Level, msg: string): void {
  const b = String.UTF8.encode(msg);
  abi_log(level, changetype<usize>(b), b.byteLength);
}

let failed = false;

/** Marks the invocation as failed with message; run then returns 1. */
export function fail(message: string): void {
  const b = String.UTF8.encode(message);
  abi_set_error(changetype<usize>(b), b.byteLength);
  failed = true;
}

/**
 * Runs handler as the body of an entry point and returns the entry point's
 * status: 0, or 1 when the handler called fail. (A throw aborts: a trap,
 * after which the worker replaces the instance.)
 */
export function run(handler: () => void): i32 {
  failed = false;
  handler();
  const status = failed ? 1 : 0;
  failed = false;
  return status;
}

// ---- outbound HTTP requests, sent by the worker (SPEC.md §5.7) ----

// The code and message of the last failed outbound call (see lastError).
let outboundCode: i32 = 0;
let outboundMessage = "";

/** Records a failed import: its code and the host's message. */
function outboundFailed(code: i32): void {
  outboundCode = code;
  let r = abi_outbound_error(scratch.dataStart, <usize>scratch.length);
  if (r >= 0 && <i32>(<u32>r) > scratch.length) {
    scratch = new Uint8Array(<i32>(<u32>r));
    r = abi_outbound_error(scratch.dataStart, <usize>scratch.length);
  }
  outboundMessage = r < 0 ? "" : String.UTF8.decodeUnsafe(scratch.dataStart, <usize>(<u32>r));
}

/** Records a request the SDK does not pass on because its head would be malformed. */
function outboundRefused(message: string): Response | null {
  outboundCode = Err.BadValue;
  outboundMessage = message;
  return null;
}

/**
 * The message of the last failed fetch or Response read: the host's, which
 * names the URL and what refused it (the setting that would allow it, the
 * limit reached, or the network error). Meaningful right after a call that
 * failed; "" when the host gave none.
 */
export function lastError(): string {
  return outboundMessage;
}

/**
 * The error code of the last failed fetch or Response read: Err.Denied,
 * Err.Limit, Err.HTTPFailed, Err.BadValue, … (SPEC.md §6).
 */
export function lastErrorCode(): i32 {
  return outboundCode;
}

/** Whether s is an HTTP token (RFC 9110 §5.6.2): a method or a header name. */
function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

/** Whether s has a character that would end or break a line of the head. */
function hasLineBreak(s: string): bool {
  return s.indexOf("\r") >= 0 || s.indexOf("\n") >= 0 || s.indexOf("\0") >= 0;
}

/**
 * The response to a fetch: its status and headers, and its body, read in
 * chunks with read or whole with bytes or text.
 *
 * A function may hold 8 open responses at once. A response is released by
 * close, and by reading its body to the end (read returning 0, bytes, text)
 * or a failed read; the worker releases the rest when the invocation ends.
 */
export class Response {
  private names: string[] = [];
  private values: string[] = [];

  constructor(private handle: i32, public readonly status: i32, headers: string) {
    const lines = headers.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      this.names.push(line.substring(0, colon));
      this.values.push(line.substring(colon + 1).trimStart());
    }
  }

  /** Whether the status is 2xx. */
  get ok(): bool {
    return this.status >= 200 && this.status < 300;
  }

  /** The first value of header name, matched case-insensitively; "" when absent. */
  header(name: string): string {
    const want = name.toLowerCase();
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].toLowerCase() == want) return this.values[i];
    }
    return "";
  }

  /** The headers as "Name: value" lines, one per value, names in canonical form, sorted by name. */
  headers(): string[] {
    const out = new Array<string>(this.names.length);
    for (let i = 0; i < this.names.length; i++) out[i] = this.names[i] + ": " + this.values[i];
    return out;
  }

  /**
   * Reads the next chunk of the body into buf (not empty): what has
   * arrived, up to buf.length bytes. Returns how many bytes it read, 0 at
   * the end of the body, or a negative Err code (lastError says why).
   */
  read(buf: Uint8Array): i32 {
    return this.readInto(buf.dataStart, buf.length);
  }

  /** Reads the rest of the body; null on failure (lastError says why). */
  bytes(): Uint8Array | null {
    const hint = I32.parseInt(this.header("content-length"));
    let buf = new Uint8Array(hint > 4096 && hint < (1 << 20) ? <i32>hint : 4096);
    let n = 0;
    while (this.handle != 0) {
      if (n == buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const r = this.readInto(buf.dataStart + <usize>n, buf.length - n);
      if (r < 0) return null;
      n += r;
    }
    return buf.slice(0, n);
  }

  /** Reads the rest of the body as UTF-8 text; null on failure (lastError says why). */
  text(): string | null {
    const b = this.bytes();
    if (b == null) return null;
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /** Releases the response; reading it afterwards gives the end of the body. */
  close(): void {
    if (this.handle != 0) {
      abi_outbound_close(this.handle);
      this.handle = 0;
    }
  }

  private readInto(ptr: usize, len: i32): i32 {
    if (this.handle == 0 || len == 0) return 0;
    const n = abi_outbound_read(this.handle, ptr, <usize>len);
    if (n < 0) outboundFailed(n);
    if (n <= 0) this.close();
    return n;
  }
}

/**
 * Sends an HTTP request through the worker and waits for the response's
 * status and headers. url is absolute (http or https); headers are
 * "Name: value" strings; body is sent as is (set content-type yourself).
 * The worker sets Host, Content-Length and the hop-by-hop headers, and a
 * User-Agent when there is none.
 *
 * Returns null when the request is refused or fails; then lastErrorCode()
 * is Err.Denied (the grant, function.json "allowedHosts", or the address
 * rules refuse it), Err.Limit, Err.HTTPFailed or Err.BadValue, and
 * lastError() the message. The invocation goes on either way.
 */
export function fetch(method: string, url: string, headers: string[] = [], body: ArrayBuffer | null = null): Response | null {
  if (!isToken(method)) return outboundRefused("outbound request: invalid method \"" + method + "\"");
  if (url.length == 0 || url.indexOf(" ") >= 0 || url.indexOf("\t") >= 0 || hasLineBreak(url)) {
    return outboundRefused("outbound request: invalid URL \"" + url + "\"");
  }
  let head = method + " " + url + "\n";
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const colon = h.indexOf(":");
    if (colon <= 0 || !isToken(h.substring(0, colon).trimEnd()) || hasLineBreak(h)) {
      return outboundRefused("outbound request to " + url + ": invalid header \"" + h + "\" (want \"Name: value\")");
    }
    head += h + "\n";
  }
  const hb = String.UTF8.encode(head);
  let bodyPtr: usize = 0;
  let bodyLen: usize = 0;
  if (body != null) {
    bodyPtr = changetype<usize>(body);
    bodyLen = <usize>body.byteLength;
  }
  const handle = abi_outbound_send(changetype<usize>(hb), <usize>hb.byteLength, bodyPtr, bodyLen);
  if (handle <= 0) {
    outboundFailed(handle);
    return null;
  }
  const status = abi_outbound_status(handle);
  let r = abi_outbound_headers(handle, scratch.dataStart, <usize>scratch.length);
  if (r >= 0 && <i32>(<u32>r) > scratch.length) {
    scratch = new Uint8Array(<i32>(<u32>r));
    r = abi_outbound_headers(handle, scratch.dataStart, <usize>scratch.length);
  }
  if (status < 0 || r < 0) {
    outboundFailed(status < 0 ? status : <i32>r);
    abi_outbound_close(handle);
    return null;
  }
  return new Response(handle, status, String.UTF8.decodeUnsafe(scratch.dataStart, <usize>(<u32>r)));
}
