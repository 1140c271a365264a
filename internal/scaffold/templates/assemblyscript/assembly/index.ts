// The functions of this app, declared in code with the wasmworker
// AssemblyScript SDK. `wasmfunc start` builds app.wasm with the command in
// wasmfunc.json and serves it.
import * as ww from "wasmworker";

/** Hello answers GET /api/hello?name=<name> with "Hello, <name>!". */
export function hello(): i32 {
  return ww.run(() => {
    let name = ww.http.query("name");
    if (name == "") name = "world";
    ww.http.setHeader("content-type", "text/plain; charset=utf-8");
    ww.http.writeString("Hello, " + name + "!");
  });
}

/** Work logs each message of queue "work" and sends it upper-cased to queue "work-done". */
export function work(): i32 {
  return ww.run(() => {
    const msg = ww.input("msg");
    if (!msg.ok) return ww.fail("no message in binding msg");
    ww.log(ww.Level.Information, "work: " + msg.text() + " (dequeue count " + ww.queue.dequeueCount().toString() + ")");
    if (ww.setOutputString("out", msg.text().toUpperCase()) != 0) ww.fail(ww.lastError());
  });
}

/** The declarations (what function.json files would say), read by the worker when it indexes the app. */
export function wasmworker_functions(): i32 {
  return ww.declareAll([
    ww.httpFunction("Hello", "hello").route("hello").methods(["get", "post"]),
    ww.queueFunction("Work", "work", "work").output(ww.queueOutput("out", "work-done")),
  ]);
}
