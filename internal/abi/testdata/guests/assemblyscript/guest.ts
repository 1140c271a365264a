// The ABI v1 test guest of the AssemblyScript SDK. Its entry points behave
// like those of testdata/guests/gohttp (hello, queue, counter, fail, crash),
// so the same assertions run against every SDK.
import * as ww from "../../../../../abi/sdk/assemblyscript/assembly/index";

/** Answers "Hello, <name> (<method>)" with name from the query, the route or the body. */
export function hello(): i32 {
  return ww.run(handleHello);
}

function handleHello(): void {
  let name = ww.http.query("name");
  if (name == "") name = ww.http.param("who");
  if (name == "") name = String.UTF8.decode(ww.http.body().buffer);
  ww.http.setStatus(201);
  ww.http.setHeader("Content-Type", "text/plain");
  ww.http.addCookie("seen=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
  ww.log(ww.Level.Information, "greeting " + name);
  ww.http.writeString("Hello, " + name + " (" + ww.http.method() + ")");
}

/** Copies its trigger to output "out" upper-cased and returns the dequeue count as JSON. */
export function queue(): i32 {
  return ww.run(handleQueue);
}

function handleQueue(): void {
  const msg = ww.input("msg");
  if (!msg.ok) return ww.fail("read msg: error " + msg.code.toString());
  ww.setOutputString("out", msg.text().toUpperCase());
  const dc = ww.metadata("DequeueCount");
  if (!dc.ok) return ww.fail("read DequeueCount: error " + dc.code.toString());
  ww.setOutputJSON("$return", '{"dequeueCount":' + dc.text() + "}");
}

let calls: i64 = 0;

/** Returns how many times this instance ran it, as $return. */
export function counter(): i32 {
  calls++;
  return ww.run(handleCounter);
}

function handleCounter(): void {
  ww.setOutputInt("$return", calls);
}

/** Reports a handled failure after writing output and log lines. */
export function fail(): i32 {
  return ww.run(handleFail);
}

function handleFail(): void {
  ww.setOutputString("out", "not sent");
  ww.log(ww.Level.Warning, "about to fail");
  process.stdout.write("a line on stdout\n");
  process.stderr.write("partial stderr");
  ww.fail("bad input: no name");
}

/** Traps. */
export function crash(): i32 {
  unreachable();
  return 0;
}
