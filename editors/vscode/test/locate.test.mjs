// Where the extension looks for heddle-lsp and heddle, and how it names workflows for the palette.
// Tests the bundles esbuild.mjs writes to out/unit (the modules that do not import `vscode`).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";

const require = createRequire(import.meta.url);
const { locateCli, locateServer } = require("../out/unit/src/locate.js");
const { workflowNames } = require("../out/unit/src/workflows.js");

/** An environment whose only executables are `files`. */
function environment(files, { platform = "linux", pathVariable = "/usr/bin:/opt/heddle/bin", home = "/home/ada" } = {}) {
  const executables = new Set(files);
  return { platform, pathVariable, home, executable: (file) => executables.has(file) };
}

describe("locateServer", () => {
  test("the setting wins, with ~ and ${workspaceFolder} expanded", () => {
    const env = environment(["/home/ada/bin/heddle-lsp", "/work/p/tools/heddle-lsp", "/work/p/.venv/bin/heddle-lsp"]);
    assert.deepEqual(locateServer("~/bin/heddle-lsp", ["/work/p"], env),
      { path: "/home/ada/bin/heddle-lsp", origin: "setting" });
    assert.deepEqual(locateServer("${workspaceFolder}/tools/heddle-lsp", ["/work/p"], env),
      { path: "/work/p/tools/heddle-lsp", origin: "setting" });
    assert.deepEqual(locateServer("tools/heddle-lsp", ["/work/p"], env),
      { path: "/work/p/tools/heddle-lsp", origin: "setting" });
  });

  test("a bare name in the setting is looked up on PATH", () => {
    const env = environment(["/opt/heddle/bin/heddle-lsp-dev"]);
    assert.deepEqual(locateServer("heddle-lsp-dev", ["/work/p"], env),
      { path: "/opt/heddle/bin/heddle-lsp-dev", origin: "setting" });
  });

  test("a setting that names nothing is reported, not silently replaced", () => {
    const env = environment(["/work/p/.venv/bin/heddle-lsp"]);
    const found = locateServer("/nowhere/heddle-lsp", ["/work/p"], env);
    assert.deepEqual(found, { looked: ["/nowhere/heddle-lsp"], badSetting: "/nowhere/heddle-lsp" });
  });

  test("then .venv, then venv, folder by folder, then PATH", () => {
    const both = environment(["/work/p/venv/bin/heddle-lsp", "/work/p/.venv/bin/heddle-lsp", "/usr/bin/heddle-lsp"]);
    assert.deepEqual(locateServer("", ["/work/p"], both), { path: "/work/p/.venv/bin/heddle-lsp", origin: "virtual environment" });
    const second = environment(["/work/q/venv/bin/heddle-lsp", "/usr/bin/heddle-lsp"]);
    assert.deepEqual(locateServer(" ", ["/work/p", "/work/q"], second),
      { path: "/work/q/venv/bin/heddle-lsp", origin: "virtual environment" });
    assert.deepEqual(locateServer("", ["/work/p"], environment(["/opt/heddle/bin/heddle-lsp"])),
      { path: "/opt/heddle/bin/heddle-lsp", origin: "PATH" });
  });

  test("Windows: Scripts\\heddle-lsp.exe and ;-separated PATH", () => {
    const env = environment(["C:\\p\\.venv\\Scripts\\heddle-lsp.exe"], { platform: "win32", pathVariable: "C:\\bin;C:\\py" });
    assert.deepEqual(locateServer("", ["C:\\p"], env), { path: "C:\\p\\.venv\\Scripts\\heddle-lsp.exe", origin: "virtual environment" });
    const onPath = environment(["C:\\py\\heddle-lsp.exe"], { platform: "win32", pathVariable: "C:\\bin;C:\\py" });
    assert.deepEqual(locateServer("", ["C:\\p"], onPath), { path: "C:\\py\\heddle-lsp.exe", origin: "PATH" });
  });

  test("nothing found: every place looked at is listed", () => {
    const found = locateServer("", ["/work/p"], environment([]));
    assert.deepEqual(found.looked, ["/work/p/.venv/bin/heddle-lsp", "/work/p/venv/bin/heddle-lsp", "heddle-lsp on PATH"]);
    assert.equal(found.badSetting, undefined);
  });

  test("last, the environment the extension installed Heddle into", () => {
    const own = "/home/ada/.vscode/globalStorage/heddle.heddle/server-env";
    const env = environment([`${own}/bin/heddle-lsp`]);
    assert.deepEqual(locateServer("", ["/work/p"], env, own), { path: `${own}/bin/heddle-lsp`, origin: "extension's own environment" });
    const alsoOnPath = environment([`${own}/bin/heddle-lsp`, "/usr/bin/heddle-lsp"]);
    assert.deepEqual(locateServer("", ["/work/p"], alsoOnPath, own), { path: "/usr/bin/heddle-lsp", origin: "PATH" });
    assert.deepEqual(locateServer("", ["/work/p"], environment([]), own).looked,
      ["/work/p/.venv/bin/heddle-lsp", "/work/p/venv/bin/heddle-lsp", "heddle-lsp on PATH", `${own}/bin/heddle-lsp`]);
  });
});

describe("locateCli", () => {
  test("the heddle beside the server comes first", () => {
    const env = environment(["/opt/h/bin/heddle", "/work/p/.venv/bin/heddle"]);
    assert.deepEqual(locateCli("/opt/h/bin/heddle-lsp", ["/work/p"], env), { path: "/opt/h/bin/heddle", origin: "beside the server" });
    assert.deepEqual(locateCli(undefined, ["/work/p"], env), { path: "/work/p/.venv/bin/heddle", origin: "virtual environment" });
    assert.deepEqual(locateCli("/x/heddle-lsp", ["/work/p"], environment(["/usr/bin/heddle"])), { path: "/usr/bin/heddle", origin: "PATH" });
    assert.deepEqual(locateCli("/x/heddle-lsp", [], environment([])).looked, ["/x/heddle", "heddle on PATH"]);
  });
});

describe("workflowNames", () => {
  test("declarations in column 0, in order, not those inside comments or strings of other lines", () => {
    const text = [
      "import \"std/io\" io",
      "/* workflow Commented {",
      "} */",
      "workflow First ? on_fail {",
      "  first",
      "}",
      "// workflow AlsoCommented {",
      "workflow\tSecond {",
      "}",
      "workflow",
    ].join("\n");
    assert.deepEqual(workflowNames(text), ["First", "Second"]);
  });
});
