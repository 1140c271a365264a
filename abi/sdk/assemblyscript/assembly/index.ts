// AssemblyScript SDK of the wasmworker guest ABI v1 (abi/SPEC.md): read the
// bindings of an Azure Functions invocation, write its outputs and HTTP
// response, log, and send HTTP requests (fetch), through the worker's host
// imports.
//
// A function is an exported entry point of type () => i32 that runs a
// handler, and the module declares its functions (abi/SPEC.md §2.3):
//
//   import * as ww from "wasmworker";
//   export function hello(): i32 { return ww.run(handle); }
//   function handle(): void { ww.http.writeString("Hello, " + ww.http.query("name")); }
//   export function wasmworker_functions(): i32 {
//     return ww.declareAll([ww.httpFunction("Hello", "hello").route("hello")]);
//   }
//
// Build with an asconfig.json that extends this package's (WASI shim,
// _initialize, and the version marker of ./version.ts). Every function here
// except the declaration builders is only meaningful while an entry point
// runs; an instance serves one invocation at a time.

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
// @ts-ignore: decorator
@external("wasmworker", "declare")
declare function abi_declare(json: usize, len: usize): i32;

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

/** The name and meaning of an Err code: "NotOutput: not an output binding of the function". */
export function errorName(code: i32): string {
  switch (code) {
    case 0: return "ok";
    case Err.NotFound: return "NotFound: no value with that name";
    case Err.BadSource: return "BadSource: unknown source or name";
    case Err.Memory: return "Memory: a buffer outside linear memory";
    case Err.BadType: return "BadType: a type not allowed here";
    case Err.BadUTF8: return "BadUTF8: text that is not UTF-8";
    case Err.BadJSON: return "BadJSON: not valid JSON";
    case Err.NotOutput: return "NotOutput: not an output binding of the function";
    case Err.NoHTTP: return "NoHTTP: no HTTP request, or no http output binding";
    case Err.Limit: return "Limit: a limit would be exceeded";
    case Err.NoInvocation: return "NoInvocation: called outside an invocation";
    case Err.BadValue: return "BadValue: an argument out of range or malformed";
    case Err.Unsupported: return "Unsupported: not supported here";
    case Err.Denied: return "Denied: the grant or the address rules refuse the request";
    case Err.HTTPFailed: return "HTTPFailed: the outbound request failed";
    case Err.BadHandle: return "BadHandle: not an open outbound response";
  }
  return "error " + code.toString();
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

  /** The value as text with a JSON string unquoted ("\"abc\"" gives abc); "" on error. */
  string(): string {
    const t = this.text();
    if (this.type == Type.JSON && t.length >= 2 && t.charCodeAt(0) == 34) {
      const s = jsonUnquote(t);
      if (s != null) return s;
    }
    return t;
  }

  /**
   * The value as a whole number, whatever way the host sent it (Int,
   * Double, or decimal text, quoted or not: DequeueCount arrives as JSON
   * text); def when it is absent or not a number.
   */
  asInt(def: i64 = 0): i64 {
    if (!this.ok) return def;
    if (this.type == Type.Int) return this.int();
    if (this.type == Type.Double) return <i64>this.double();
    const t = this.string().trim();
    if (t.length == 0) return def;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (!(c >= 48 && c <= 57) && !(i == 0 && c == 45)) return def;
    }
    return I64.parseInt(t);
  }
}

/** Decodes a JSON string literal (quotes included); null when s is not one. */
export function jsonUnquote(s: string): string | null {
  if (s.length < 2 || s.charCodeAt(0) != 34 || s.charCodeAt(s.length - 1) != 34) return null;
  let out = "";
  for (let i = 1; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c != 92) {
      out += String.fromCharCode(c);
      continue;
    }
    i++;
    if (i >= s.length - 1) return null;
    const e = s.charCodeAt(i);
    if (e == 110) out += "\n";
    else if (e == 116) out += "\t";
    else if (e == 114) out += "\r";
    else if (e == 98) out += "\b";
    else if (e == 102) out += "\f";
    else if (e == 117) {
      if (i + 4 >= s.length) return null;
      out += String.fromCharCode(<i32>I32.parseInt(s.substring(i + 1, i + 5), 16));
      i += 4;
    } else out += String.fromCharCode(e);
  }
  return out;
}

/** s as a JSON string literal, quotes included. */
export function jsonString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c == 13) out += "\\r";
    else if (c == 9) out += "\\t";
    else if (c < 32) {
      const h = c.toString(16);
      out += "\\u" + "0000".substring(h.length) + h;
    } else out += String.fromCharCode(c);
  }
  return out + "\"";
}

/**
 * Builds a JSON object: `new JSONObject().set("id", id).setNumber("n", 2).toString()`
 * gives `{"id":"…","n":2}`. Keys keep the order they were first set in;
 * setting a key again replaces its value.
 */
export class JSONObject {
  private names: string[] = [];
  private values: string[] = [];

  /** Adds key with raw JSON text as its value (an array, an object, a literal). */
  setRaw(key: string, json: string): JSONObject {
    const i = this.names.indexOf(key);
    if (i >= 0) {
      this.values[i] = json;
    } else {
      this.names.push(key);
      this.values.push(json);
    }
    return this;
  }
  /** Adds key with a string value. */
  set(key: string, value: string): JSONObject {
    return this.setRaw(key, jsonString(value));
  }
  /** Adds key with a number value. */
  setNumber(key: string, value: f64): JSONObject {
    return this.setRaw(key, Number.isInteger(value) ? (<i64>value).toString() : value.toString());
  }
  /** Adds key with a boolean value. */
  setBool(key: string, value: bool): JSONObject {
    return this.setRaw(key, value ? "true" : "false");
  }
  /** Adds key with an array of strings. */
  setStrings(key: string, values: string[]): JSONObject {
    return this.setRaw(key, jsonStrings(values));
  }
  /** Adds key with a nested object. */
  setObject(key: string, value: JSONObject): JSONObject {
    return this.setRaw(key, value.toString());
  }
  /** The object's JSON text. */
  toString(): string {
    let out = "{";
    for (let i = 0; i < this.names.length; i++) {
      out += (i > 0 ? "," : "") + jsonString(this.names[i]) + ":" + this.values[i];
    }
    return out + "}";
  }
}

/** values as a JSON array of strings. */
export function jsonStrings(values: string[]): string {
  let out = "[";
  for (let i = 0; i < values.length; i++) out += (i > 0 ? "," : "") + jsonString(values[i]);
  return out + "]";
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

// The last failure of an SDK call in this invocation (lastError).
let lastCode: i32 = 0;
let lastMessage = "";

/** Records that op on name failed with code (a negative Err code), and returns code. */
function failed_(code: i32, op: string, name: string): i32 {
  if (code < 0) {
    lastCode = code;
    lastMessage = op + (name.length > 0 ? " \"" + name + "\"" : "") + ": " + errorName(code);
  }
  return code;
}

/** getValue, with a failure other than NotFound recorded for lastError. */
function getChecked(op: string, kind: i32, source: Source, name: string, index: i32): Value {
  const v = getValue(kind, source, name, index);
  if (v.code != 0 && v.code != Err.NotFound) failed_(v.code, op, name);
  return v;
}

/** Reads value name of any source. */
export function get(source: Source, name: string): Value {
  return getChecked("get", GET, source, name, 0);
}

/** Reads input binding name (the trigger included). */
export function input(name: string): Value {
  return getChecked("input", GET, Source.Input, name, 0);
}

/** Reads element index of the collection input binding name. */
export function item(name: string, index: i32): Value {
  return getChecked("item", GET_ITEM, Source.Input, name, index);
}

/** Reads trigger-metadata entry key (e.g. "DequeueCount"). */
export function metadata(key: string): Value {
  return getChecked("metadata", GET, Source.Metadata, key, 0);
}

/** Trigger-metadata entry key as text, a JSON string unquoted; "" when absent. */
export function metadataString(key: string): string {
  return metadata(key).string();
}

/** Trigger-metadata entry key as a whole number (DequeueCount); def when absent or not a number. */
export function metadataInt(key: string, def: i64 = 0): i64 {
  return metadata(key).asInt(def);
}

/** Typed metadata of a queue-triggered invocation. */
export namespace queue {
  /** How many times the message was dequeued (1 on the first try; 0 when absent). */
  export function dequeueCount(): i32 {
    return <i32>metadataInt("DequeueCount");
  }
  /** The message id. */
  export function id(): string {
    return metadataString("Id");
  }
  /** The pop receipt of this dequeue. */
  export function popReceipt(): string {
    return metadataString("PopReceipt");
  }
  /** When the message was added (as the host sent it, ISO 8601). */
  export function insertionTime(): string {
    return metadataString("InsertionTime");
  }
  /** When the message expires. */
  export function expirationTime(): string {
    return metadataString("ExpirationTime");
  }
  /** When the message becomes visible again. */
  export function nextVisibleTime(): string {
    return metadataString("NextVisibleTime");
  }
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

/** The declared name of the function being invoked (one entry point may serve several). */
export function functionName(): string {
  return text(Source.Context, "function_name");
}

/** Sets output binding name ("$return" for the return value) to bytes of type t. Returns 0 or an Err code. */
export function setOutput(name: string, t: Type, data: Uint8Array): i32 {
  const n = String.UTF8.encode(name);
  return failed_(abi_set_output(changetype<usize>(n), n.byteLength, t, data.dataStart, data.length), "setOutput", name);
}

/** Sets output binding name to a string. */
export function setOutputString(name: string, s: string): i32 {
  return setOutput(name, Type.String, Uint8Array.wrap(String.UTF8.encode(s)));
}

/** Sets output binding name to JSON text (validated by the host). */
export function setOutputJSON(name: string, json: string): i32 {
  return setOutput(name, Type.JSON, Uint8Array.wrap(String.UTF8.encode(json)));
}

/** Sets output binding name to a JSON object built with JSONObject. */
export function setOutputObject(name: string, value: JSONObject): i32 {
  return setOutputJSON(name, value.toString());
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
  /** The request body as UTF-8 text ("" when there is none). */
  export function bodyText(): string {
    return String.UTF8.decode(body().buffer);
  }
  /** Sets the response status (the response starts as 200). */
  export function setStatus(status: i32): i32 {
    return failed_(abi_http_status(status), "http.setStatus", status.toString());
  }
  /** Adds a response header; adding a name twice joins the values. */
  export function setHeader(name: string, value: string): i32 {
    const n = String.UTF8.encode(name);
    const v = String.UTF8.encode(value);
    return failed_(abi_http_header(changetype<usize>(n), n.byteLength, changetype<usize>(v), v.byteLength), "http.setHeader", name);
  }
  /** Adds a cookie in Set-Cookie syntax, e.g. "id=1; Path=/; HttpOnly". */
  export function addCookie(setCookie: string): i32 {
    const c = String.UTF8.encode(setCookie);
    return failed_(abi_http_cookie(changetype<usize>(c), c.byteLength), "http.addCookie", setCookie);
  }
  /** Sets the response body; t is Type.String, Type.Bytes or Type.JSON. */
  export function setBody(t: Type, body: Uint8Array): i32 {
    return failed_(abi_http_body(t, body.dataStart, body.length), "http.setBody", "");
  }
  /** Sets the response body to text. */
  export function writeString(s: string): i32 {
    const b = String.UTF8.encode(s);
    return failed_(abi_http_body(Type.String, changetype<usize>(b), b.byteLength), "http.writeString", "");
  }
  /** Sets the response body to JSON text and content-type application/json. */
  export function writeJSON(json: string): i32 {
    const b = String.UTF8.encode(json);
    const rc = failed_(abi_http_body(Type.JSON, changetype<usize>(b), b.byteLength), "http.writeJSON", "");
    return rc != 0 ? rc : setHeader("content-type", "application/json");
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
  lastCode = 0;
  lastMessage = "";
  handler();
  const status = failed ? 1 : 0;
  failed = false;
  return status;
}

// ---- outbound HTTP requests, sent by the worker (SPEC.md §5.7) ----

/** Records a failed import: its code and the host's message. */
function outboundFailed(code: i32): void {
  lastCode = code;
  let r = abi_outbound_error(scratch.dataStart, <usize>scratch.length);
  if (r >= 0 && <i32>(<u32>r) > scratch.length) {
    scratch = new Uint8Array(<i32>(<u32>r));
    r = abi_outbound_error(scratch.dataStart, <usize>scratch.length);
  }
  lastMessage = r < 0 ? errorName(code) : String.UTF8.decodeUnsafe(scratch.dataStart, <usize>(<u32>r));
}

/** Records a request the SDK does not pass on because its head would be malformed. */
function outboundRefused(message: string): Response | null {
  lastCode = Err.BadValue;
  lastMessage = message;
  return null;
}

/**
 * What the last SDK call that failed in this invocation was doing, naming
 * the binding, key or function (`setOutput "result": NotOutput: not an
 * output binding of the function`); for a fetch or Response read the host's
 * message, which names the URL and what refused it (the setting that would
 * allow it, the limit reached, or the network error). Reads of absent values
 * (NotFound) are not recorded. "" when nothing failed.
 */
export function lastError(): string {
  return lastMessage;
}

/**
 * The error code of the last failed SDK call: Err.NotOutput, Err.Denied,
 * Err.Limit, Err.HTTPFailed, Err.BadValue, … (SPEC.md §6); 0 when none failed.
 */
export function lastErrorCode(): i32 {
  return lastCode;
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

// ---- functions declared in code (SPEC.md §2.3, §5.8) ----

/**
 * One binding of a declared function, as in function.json: type,
 * direction, name, and the binding's own keys (setting a key again
 * replaces it). `new Binding("blob", "in",
 * "doc").set("path", "docs/{name}").set("connection", "Storage")`.
 */
export class Binding {
  private keys: JSONObject;

  constructor(public readonly type: string, public readonly direction: string, public readonly name: string) {
    this.keys = new JSONObject().set("type", type).set("direction", direction).set("name", name);
  }

  /** Adds key with a string value. */
  set(key: string, value: string): Binding {
    this.keys.set(key, value);
    return this;
  }
  /** Adds key with a number value. */
  setNumber(key: string, value: f64): Binding {
    this.keys.setNumber(key, value);
    return this;
  }
  /** Adds key with a boolean value. */
  setBool(key: string, value: bool): Binding {
    this.keys.setBool(key, value);
    return this;
  }
  /** Adds key with an array of strings. */
  setStrings(key: string, values: string[]): Binding {
    this.keys.setStrings(key, values);
    return this;
  }
  /** Adds key with raw JSON text as its value. */
  setRaw(key: string, json: string): Binding {
    this.keys.setRaw(key, json);
    return this;
  }
  /** The binding's JSON object. */
  toString(): string {
    return this.keys.toString();
  }
}

/** A queue output binding (connection: an app setting naming the storage account). */
export function queueOutput(name: string, queueName: string, connection: string = "AzureWebJobsStorage"): Binding {
  return new Binding("queue", "out", name).set("queueName", queueName).set("connection", connection);
}

/** A blob input binding; path may use trigger values ("docs/{name}"). */
export function blobInput(name: string, path: string, connection: string = "AzureWebJobsStorage"): Binding {
  return new Binding("blob", "in", name).set("path", path).set("connection", connection);
}

/** A blob output binding. */
export function blobOutput(name: string, path: string, connection: string = "AzureWebJobsStorage"): Binding {
  return new Binding("blob", "out", name).set("path", path).set("connection", connection);
}

/** An http output binding (the response), named "res" or "$return". */
export function httpOutput(name: string = "res"): Binding {
  return new Binding("http", "out", name);
}

/**
 * The declaration of one function: what its function.json says, plus its
 * name. Start with httpFunction, queueFunction, timerFunction or
 * newFunction, chain the options, and pass it to declare or declareAll from
 * the module's export wasmworker_functions. Every method returns the
 * builder itself.
 */
export class FunctionBuilder {
  private bindings: Binding[] = [];
  private retry: string = "";
  private disabledValue: i32 = -1;
  private env: string[] = [];
  private hosts: string[] = [];
  private grantsJSON: string = "";
  private extra: JSONObject | null = null;

  /** name: the function's name; entryPoint: the export that serves it ("run" when ""). */
  constructor(public readonly name: string, public readonly entryPoint: string) {}

  /** Adds a binding (the trigger, an input or an output). */
  binding(b: Binding): FunctionBuilder {
    this.bindings.push(b);
    return this;
  }
  /** Adds an input binding. */
  input(b: Binding): FunctionBuilder {
    return this.binding(b);
  }
  /** Adds an output binding. */
  output(b: Binding): FunctionBuilder {
    return this.binding(b);
  }

  /** The trigger (the first binding); a fresh one when there is none. */
  private trigger(): Binding {
    if (this.bindings.length == 0) this.bindings.push(new Binding("httpTrigger", "in", "req"));
    return this.bindings[0];
  }
  /** The HTTP trigger's route ("hello/{name?}", without the "api/" prefix). */
  route(route: string): FunctionBuilder {
    this.trigger().set("route", route);
    return this;
  }
  /** The HTTP methods the trigger accepts (all when never set). */
  methods(methods: string[]): FunctionBuilder {
    this.trigger().setStrings("methods", methods);
    return this;
  }
  /** The HTTP trigger's authLevel (httpFunction sets "anonymous"; a later call wins). */
  authLevel(level: string): FunctionBuilder {
    this.trigger().set("authLevel", level);
    return this;
  }
  /** Adds a string key to the trigger binding. */
  triggerOption(key: string, value: string): FunctionBuilder {
    this.trigger().set(key, value);
    return this;
  }

  /** Retries a failed invocation maxRetryCount times, delayInterval ("00:00:05") apart. */
  retryFixed(maxRetryCount: i32, delayInterval: string): FunctionBuilder {
    this.retry = new JSONObject()
      .set("strategy", "fixedDelay")
      .setNumber("maxRetryCount", maxRetryCount)
      .set("delayInterval", delayInterval)
      .toString();
    return this;
  }
  /** Retries with exponential backoff between minimumInterval and maximumInterval. */
  retryExponential(maxRetryCount: i32, minimumInterval: string, maximumInterval: string): FunctionBuilder {
    this.retry = new JSONObject()
      .set("strategy", "exponentialBackoff")
      .setNumber("maxRetryCount", maxRetryCount)
      .set("minimumInterval", minimumInterval)
      .set("maximumInterval", maximumInterval)
      .toString();
    return this;
  }
  /** Marks the function disabled (or not). */
  disabled(disabled: bool = true): FunctionBuilder {
    this.disabledValue = disabled ? 1 : 0;
    return this;
  }
  /** Grants reading these app settings (function.json "wasmworker": {"env"}). */
  grantEnv(settings: string[]): FunctionBuilder {
    for (let i = 0; i < settings.length; i++) this.env.push(settings[i]);
    return this;
  }
  /** Grants outbound requests to these destinations ("https://api.example.com"). */
  allowHosts(hosts: string[]): FunctionBuilder {
    for (let i = 0; i < hosts.length; i++) this.hosts.push(hosts[i]);
    return this;
  }
  /**
   * The whole "wasmworker" object as raw JSON (memoryMB, timeout, dirs,
   * isolate, …); it replaces what grantEnv and allowHosts gave.
   */
  grants(wasmworkerJSON: string): FunctionBuilder {
    this.grantsJSON = wasmworkerJSON;
    return this;
  }
  /** Adds any other top-level key with raw JSON text (an escape hatch; unknown keys are an error at indexing). */
  setRaw(key: string, json: string): FunctionBuilder {
    let e = this.extra;
    if (e == null) {
      e = new JSONObject();
      this.extra = e;
    }
    e.setRaw(key, json);
    return this;
  }

  /** The declaration's JSON text (function.json syntax plus "name"). */
  toString(): string {
    const o = new JSONObject().set("name", this.name).set("entryPoint", this.entryPoint.length > 0 ? this.entryPoint : "run");
    let bs = "[";
    for (let i = 0; i < this.bindings.length; i++) bs += (i > 0 ? "," : "") + this.bindings[i].toString();
    o.setRaw("bindings", bs + "]");
    if (this.retry.length > 0) o.setRaw("retry", this.retry);
    if (this.disabledValue >= 0) o.setBool("disabled", this.disabledValue == 1);
    if (this.grantsJSON.length > 0) {
      o.setRaw("wasmworker", this.grantsJSON);
    } else if (this.env.length > 0 || this.hosts.length > 0) {
      const g = new JSONObject();
      if (this.env.length > 0) g.setStrings("env", this.env);
      if (this.hosts.length > 0) g.setStrings("allowedHosts", this.hosts);
      o.setObject("wasmworker", g);
    }
    let text = o.toString();
    const e = this.extra;
    if (e != null) {
      const more = e.toString();
      text = text.substring(0, text.length - 1) + "," + more.substring(1);
    }
    return text;
  }
}

/** A function declared with no bindings yet: add them with binding/input/output. */
export function newFunction(name: string, entryPoint: string): FunctionBuilder {
  return new FunctionBuilder(name, entryPoint);
}

/**
 * An HTTP function: trigger "req" (httpTrigger, authLevel anonymous, every
 * method, route = the function name unless route() says otherwise) and
 * output "res" (http). Chain route, methods, authLevel.
 */
export function httpFunction(name: string, entryPoint: string): FunctionBuilder {
  return new FunctionBuilder(name, entryPoint)
    .binding(new Binding("httpTrigger", "in", "req").set("authLevel", "anonymous"))
    .binding(httpOutput("res"));
}

/** A queue-triggered function: trigger "msg" on queueName. */
export function queueFunction(name: string, entryPoint: string, queueName: string, connection: string = "AzureWebJobsStorage"): FunctionBuilder {
  return new FunctionBuilder(name, entryPoint).binding(
    new Binding("queueTrigger", "in", "msg").set("queueName", queueName).set("connection", connection),
  );
}

/** A timer-triggered function: trigger "timer" on an NCRONTAB schedule ("0 0 * * * *": hourly). */
export function timerFunction(name: string, entryPoint: string, schedule: string): FunctionBuilder {
  return new FunctionBuilder(name, entryPoint).binding(new Binding("timerTrigger", "in", "timer").set("schedule", schedule));
}

/**
 * Declares one function from its JSON text (function.json syntax plus
 * "name"): the escape hatch for anything the builders do not say. Only
 * meaningful while wasmworker_functions runs. Returns 0 or an Err code.
 */
export function declareJSON(json: string): i32 {
  const b = String.UTF8.encode(json);
  return failed_(abi_declare(changetype<usize>(b), <usize>b.byteLength), "declare", json.length > 80 ? json.substring(0, 80) + "…" : json);
}

/** Declares one function. Returns 0 or an Err code (lastError names the function). */
export function declare(f: FunctionBuilder): i32 {
  const b = String.UTF8.encode(f.toString());
  return failed_(abi_declare(changetype<usize>(b), <usize>b.byteLength), "declare", f.name);
}

/**
 * Declares every function, and returns what wasmworker_functions returns:
 * 0, or 1 after setting the failure message to the first error.
 *
 *   export function wasmworker_functions(): i32 {
 *     return ww.declareAll([ww.httpFunction("Hello", "hello").route("hello")]);
 *   }
 */
export function declareAll(functions: FunctionBuilder[]): i32 {
  for (let i = 0; i < functions.length; i++) {
    if (declare(functions[i]) != 0) {
      const m = String.UTF8.encode(lastMessage);
      abi_set_error(changetype<usize>(m), <usize>m.byteLength);
      return 1;
    }
  }
  return 0;
}
