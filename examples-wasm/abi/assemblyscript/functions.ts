// Two Azure Functions in one ABI v1 module, written with the AssemblyScript
// SDK (abi/sdk/assemblyscript). HttpHello/function.json uses entry point
// "hello", ProcessJob/function.json uses "process_job". Build: ../build.sh assemblyscript
import * as ww from "../../../abi/sdk/assemblyscript/assembly/index";

/** Greets the name given in the query, the route or the body. */
export function hello(): i32 {
  return ww.run(greet);
}

function greet(): void {
  let name = ww.http.query("name");
  if (name == "") name = ww.http.param("name");
  if (name == "") name = String.UTF8.decode(ww.http.body().buffer);
  if (name == "") name = "world";
  ww.log(ww.Level.Information, "greeting " + name);
  ww.http.setHeader("content-type", "text/plain; charset=utf-8");
  ww.http.writeString("Hello, " + name + "!");
}

/**
 * Handles a queue message and writes a result message to the "result"
 * output binding. An empty message fails, so the queue retries.
 */
export function process_job(): i32 {
  return ww.run(processJob);
}

function processJob(): void {
  const msg = ww.input("msg");
  if (!msg.ok || msg.len == 0) return ww.fail("empty job message");
  // DequeueCount arrives as JSON text ("1"); ww.queue reads it as a number.
  ww.log(ww.Level.Information, "processed job " + ww.queue.id());
  const result = "done: " + msg.text() + " (attempt " + ww.queue.dequeueCount().toString() + ")";
  if (ww.setOutputString("result", result) != 0) ww.fail(ww.lastError()); // names the binding
}
