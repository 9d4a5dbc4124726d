// The adapter is filled in by the HTTP adapters issue; the package exists so the workspace,
// its build and its exports are in place from the start.
export {};
