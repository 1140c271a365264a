// The package entry of the wasmworker AssemblyScript SDK: `import * as ww
// from "wasmworker"` resolves here (asc looks for <package>/index.ts).
export * from "./assembly/index";
