// The version marker of ABI v1 (abi/SPEC.md §2.1); the host never calls it.
// asconfig.json adds this file as an entry, so every module built with the
// SDK's config exports it.
export function wasmworker_abi_version_1(): void {}
