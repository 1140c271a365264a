// The AssemblyScript SDK's declaration and error test guest
// (examples-wasm/incode_c_as_test.go serves it through the worker).
import * as ww from "../assembly/index";

/** Answers with the declared name it was invoked as (two functions share this entry point). */
export function names(): i32 {
  return ww.run(() => {
    ww.http.writeString(ww.functionName());
  });
}

/** Answers with the app setting GREETING, granted by the declaration. */
export function greeting(): i32 {
  return ww.run(() => {
    ww.http.writeString(process.env.has("GREETING") ? process.env.get("GREETING") : "(not granted)");
  });
}

/** Writes to a binding that does not exist: the failure names it. */
export function nope(): i32 {
  return ww.run(() => {
    if (ww.setOutputString("nope", "x") != 0) ww.fail(ww.lastError());
  });
}

/** Answers with errorName of a code and a builder's JSON. */
export function codes(): i32 {
  return ww.run(() => {
    const f = ww.newFunction("X", "").input(new ww.Binding("blob", "in", "doc").set("path", "a\"b").setNumber("n", 2));
    ww.http.writeString(ww.errorName(ww.Err.NotOutput) + "\n" + f.toString());
  });
}

export function wasmworker_functions(): i32 {
  return ww.declareAll([
    ww.httpFunction("NameOne", "names").route("one").methods(["get"]),
    ww.httpFunction("NameTwo", "names").route("two").methods(["get"]),
    ww.httpFunction("Greeting", "greeting").route("greeting").authLevel("anonymous").grantEnv(["GREETING"]),
    ww.httpFunction("Nope", "nope").route("nope").methods(["get"]),
    ww.httpFunction("Codes", "codes").route("codes").methods(["get"]),
    ww.httpFunction("Off", "names").route("off").methods(["get"]).disabled(),
    ww.queueFunction("Retried", "names", "retried").retryFixed(2, "00:00:01"),
    ww.newFunction("Broken", "names").setRaw("scriptFile", '"x.wasm"').binding(new ww.Binding("httpTrigger", "in", "req")).output(ww.httpOutput()),
  ]);
}
