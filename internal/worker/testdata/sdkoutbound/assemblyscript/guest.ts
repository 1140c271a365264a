// The outbound HTTP test guest of the AssemblyScript SDK
// (outbound_sdk_test.go). Each entry point is an HTTP function that calls the
// URL in its query parameter "url" and answers with what it saw, the same way
// as the Rust guest next to this one.
import * as ww from "../../../../../abi/sdk/assemblyscript/assembly/index";

/** Fails the invocation with the SDK's last outbound error. */
function failOutbound(): void {
  ww.fail("code=" + ww.lastErrorCode().toString() + ": " + ww.lastError());
}

/** GET with request headers; answers "<status> <X-Reply header> <body>". */
export function get(): i32 {
  return ww.run(doGet);
}

function doGet(): void {
  const resp = ww.fetch("GET", ww.http.query("url"), ["X-Guest: assemblyscript", "Accept: text/plain"]);
  if (resp == null) return failOutbound();
  // Canonical on the wire (X-Reply); looked up in lower case.
  const reply = resp.header("x-reply");
  const body = resp.text();
  if (body == null) return failOutbound();
  ww.http.writeString(resp.status.toString() + " " + (reply == "" ? "-" : reply) + " " + body);
}

/** POSTs the request's body as JSON; answers with the upstream's body. */
export function post(): i32 {
  return ww.run(doPost);
}

function doPost(): void {
  const resp = ww.fetch("POST", ww.http.query("url"), ["content-type: application/json"], ww.http.body().buffer);
  if (resp == null) return failOutbound();
  const body = resp.bytes();
  if (body == null) return failOutbound();
  ww.http.setStatus(resp.status);
  ww.http.setBody(ww.Type.Bytes, body);
}

/** Whether byte i of b is (offset + i) % 251. */
function intact(b: Uint8Array, n: i32, offset: i32): bool {
  for (let i = 0; i < n; i++) {
    if (<i32>b[i] != (offset + i) % 251) return false;
  }
  return true;
}

/**
 * Reads a large body (byte i is i % 251) twice: in 1000-byte chunks with
 * read, then whole with bytes(). Answers
 * "read <bytes> in <chunks> chunks, bytes() <bytes>, pattern ok|broken".
 */
export function big(): i32 {
  return ww.run(doBig);
}

function doBig(): void {
  const url = ww.http.query("url");
  const resp = ww.fetch("GET", url);
  if (resp == null) return failOutbound();
  const buf = new Uint8Array(1000);
  let total = 0;
  let chunks = 0;
  let ok = true;
  for (;;) {
    const n = resp.read(buf);
    if (n < 0) return failOutbound();
    if (n == 0) break;
    ok = ok && intact(buf, n, total);
    total += n;
    chunks++;
  }
  const again = ww.fetch("GET", url);
  if (again == null) return failOutbound();
  const whole = again.bytes();
  if (whole == null) return failOutbound();
  ok = ok && intact(whole, whole.length, 0);
  ww.http.writeString("read " + total.toString() + " in " + chunks.toString() + " chunks, bytes() " +
    whole.length.toString() + ", pattern " + (ok ? "ok" : "broken"));
}

/**
 * Opens more responses one after another than may be open at once (8),
 * closing each; answers "<n> responses".
 */
export function many(): i32 {
  return ww.run(doMany);
}

function doMany(): void {
  let n = 0;
  for (let i = 0; i < 12; i++) {
    const resp = ww.fetch("GET", ww.http.query("url"));
    if (resp == null) return failOutbound();
    if (resp.ok) n++;
    resp.close();
  }
  ww.http.writeString(n.toString() + " responses");
}

/**
 * Calls a URL the grant refuses: logs the error code and message (and the
 * code of a request with a malformed header, which the SDK refuses itself),
 * then fails the invocation with the refusal.
 */
export function denied(): i32 {
  return ww.run(doDenied);
}

function doDenied(): void {
  const url = ww.http.query("url");
  if (ww.fetch("GET", url, ["X-Bad: a\r\nInjected: 1"]) == null && ww.lastErrorCode() == ww.Err.BadValue) {
    ww.log(ww.Level.Information, "bad header: " + ww.lastError());
  } else {
    ww.log(ww.Level.Error, "bad header: not refused as BadValue");
  }
  const resp = ww.fetch("GET", url);
  if (resp != null) {
    resp.close();
    ww.http.writeString("allowed");
    return;
  }
  ww.log(ww.Level.Warning, "code=" + ww.lastErrorCode().toString() + " message=" + ww.lastError());
  failOutbound();
}
