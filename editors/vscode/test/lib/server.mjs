// Which heddle-lsp the tests drive: $HEDDLE_LSP, else the repository's .venv/bin/heddle-lsp, else PATH's.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const extensionRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const repository = path.resolve(extensionRoot, "..", "..");

export function serverPath() {
  if (process.env.HEDDLE_LSP) {
    return process.env.HEDDLE_LSP;
  }
  const venv = path.join(repository, ".venv", "bin", "heddle-lsp");
  return existsSync(venv) ? venv : "heddle-lsp";
}

/** The `heddle` command of the same installation. */
export function cliPath() {
  const server = serverPath();
  return server.includes(path.sep) ? path.join(path.dirname(server), "heddle") : "heddle";
}
