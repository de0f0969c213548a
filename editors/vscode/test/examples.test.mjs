// The TextMate grammar over every example of the repository: no invalid token, and every relational
// block closes where the parser closes it (no PRQL scope leaks onto the next declaration).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";

import { extensionRoot, repository } from "./lib/server.mjs";

const require = createRequire(import.meta.url);
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const examples = path.join(repository, "examples");

async function loadGrammar() {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) => scopeName !== "source.heddle" ? null : textmate.parseRawGrammar(
      readFileSync(path.join(extensionRoot, "syntaxes", "heddle.tmLanguage.json"), "utf8"), "heddle.tmLanguage.json"),
  });
  return registry.loadGrammar("source.heddle");
}

function heddleFiles(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? heddleFiles(full) : entry.name.endsWith(".he") ? [full] : [];
  });
}

test("the examples tokenize without invalid tokens or leaking PRQL blocks", async () => {
  const grammar = await loadGrammar();
  const files = heddleFiles(examples);
  assert.ok(files.length >= 5, `examples found: ${files.length}`);
  let blocks = 0;
  for (const file of files) {
    const name = path.relative(examples, file);
    let stack = textmate.INITIAL;
    readFileSync(file, "utf8").split(/\r?\n/).forEach((line, index) => {
      const { tokens, ruleStack } = grammar.tokenizeLine(line, stack);
      stack = ruleStack;
      for (const token of tokens) {
        const where = `${name}:${index + 1}:${token.startIndex + 1} ${JSON.stringify(line.slice(token.startIndex, token.endIndex))}`;
        assert.ok(!token.scopes.some((s) => s.startsWith("invalid")), `invalid token at ${where}: ${token.scopes.join(" ")}`);
        if (token.startIndex === 0 && /^(?:[}\w])/.test(line)) {
          assert.ok(!token.scopes.includes("meta.embedded.block.prql"), `a PRQL block leaks to ${where}`);
        }
        if (token.scopes.includes("punctuation.section.embedded.begin.heddle")) {
          blocks += 1;
        }
      }
    });
  }
  assert.ok(blocks >= 10, `relational blocks seen: ${blocks}`);
});
