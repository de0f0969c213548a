// The Install flow's checks: what it accepts as a local source, the Python it accepts, pip's arguments.
// Tests the bundle esbuild.mjs writes to out/unit (src/installing.ts does not import `vscode`).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";

const require = createRequire(import.meta.url);
const { localSourceProblem, pipInstallArguments, pythonVersionProblem, DISTRIBUTION } = require("../out/unit/src/installing.js");

/** Files and folders that exist: `files` and `folders`, nothing else. */
function tree(files, folders) {
  return { isFile: (f) => files.includes(f), isDirectory: (d) => folders.includes(d) };
}

describe("localSourceProblem", () => {
  const wheel = "/home/ada/dist/heddle_lang-0.1.0-cp311-cp311-linux_x86_64.whl";
  const files = tree([wheel, "/home/ada/heddle/pyproject.toml", "/home/ada/other.whl"], ["/home/ada/heddle", "/home/ada/empty"]);

  test("a heddle_lang wheel and a folder with a pyproject.toml are accepted, ~ expanded", () => {
    assert.equal(localSourceProblem(wheel, files), undefined);
    assert.equal(localSourceProblem(" ~/heddle ", files, "/home/ada"), undefined);
  });

  test("anything else says why not", () => {
    assert.match(localSourceProblem("", files), /path of a heddle_lang wheel/);
    assert.match(localSourceProblem("dist/x.whl", files), /absolute path/);
    assert.match(localSourceProblem("/home/ada/other.whl", files), /not a Heddle wheel/);
    assert.match(localSourceProblem("/home/ada/empty", files), /no pyproject.toml/);
    assert.match(localSourceProblem("/nowhere", files), /no file or folder/);
  });
});

describe("pythonVersionProblem", () => {
  test("3.11 and later run Heddle", () => {
    for (const version of ["3.11", "3.12\n", "3.14", "4.0"]) {
      assert.equal(pythonVersionProblem(version), undefined, version);
    }
  });

  test("older or unreadable versions are refused with the reason", () => {
    assert.match(pythonVersionProblem("3.10"), /Python 3.10, and Heddle needs 3.11 or later/);
    assert.match(pythonVersionProblem("2.7"), /Python 2.7/);
    assert.match(pythonVersionProblem("Python was not found"), /did not say its version/);
  });
});

test("pip installs the source given, heddle-lang by name", () => {
  assert.equal(DISTRIBUTION, "heddle-lang");
  assert.deepEqual(pipInstallArguments("/w/heddle_lang-0.1.0.whl"),
    ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "/w/heddle_lang-0.1.0.whl"]);
});
