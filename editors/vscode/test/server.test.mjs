// Drives the real `heddle-lsp` over stdio as VS Code's client would, on a temporary copy of examples/
// (so that heddle.toml resolves the example plugins). The server is $HEDDLE_LSP, else the repository's
// .venv/bin/heddle-lsp, else heddle-lsp on PATH (test/lib/server.mjs).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";

import {
  CancellationTokenSource,
  CodeLensRequest,
  CompletionRequest,
  createProtocolConnection,
  DocumentDiagnosticRequest,
  DocumentSymbolRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver-protocol/node.js";

import { cliPath, extensionRoot, repository, serverPath } from "./lib/server.mjs";

const manifest = JSON.parse(readFileSync(path.join(extensionRoot, "package.json"), "utf8"));

const TIMEOUT_MS = 60_000;

/** A running server and what it has published, by URI. */
class Session {
  constructor(workspace) {
    this.workspace = workspace;
    this.published = new Map();
    this.waiters = [];
    this.messages = [];
    this.process = spawn(serverPath(), [], { cwd: workspace, stdio: ["pipe", "pipe", "pipe"] });
    this.stderr = "";
    this.process.stderr.on("data", (chunk) => (this.stderr += chunk));
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.process.stdout), new StreamMessageWriter(this.process.stdin));
    this.connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      this.published.set(params.uri, params);
      this.waiters = this.waiters.filter((waiter) => !waiter(params));
    });
    this.connection.onNotification("window/showMessage", (params) => this.messages.push(params));
    this.connection.onNotification("window/logMessage", () => undefined);
    this.connection.onRequest("client/registerCapability", () => null);
    this.connection.onRequest("window/workDoneProgress/create", () => null);
    this.connection.listen();
  }

  /** The first publishDiagnostics for `uri` that satisfies `accept`. */
  diagnostics(uri, accept = () => true) {
    const known = this.published.get(uri);
    if (known !== undefined && accept(known)) {
      return Promise.resolve(known);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri}; server stderr:\n${this.stderr}`)),
        TIMEOUT_MS);
      this.waiters.push((params) => {
        if (params.uri !== uri || !accept(params)) {
          return false;
        }
        clearTimeout(timer);
        resolve(params);
        return true;
      });
    });
  }

  open(file, text = readFileSync(file, "utf8")) {
    const uri = pathToFileURL(file).href;
    this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "heddle", version: 1, text },
    });
    return uri;
  }

  async close() {
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    const code = await new Promise((resolve) => {
      if (this.process.exitCode !== null) {
        resolve(this.process.exitCode);
      } else {
        this.process.on("exit", resolve);
      }
    });
    this.connection.dispose();
    return code;
  }
}

/** Where `needle` is in `text`, as an LSP position (ASCII text: UTF-16 columns are byte columns). */
function positionOf(text, needle, offsetInNeedle = 0) {
  const index = text.indexOf(needle);
  assert.notEqual(index, -1, `${needle} is not in the text`);
  const before = text.slice(0, index + offsetInNeedle).split("\n");
  return { line: before.length - 1, character: before[before.length - 1].length };
}

describe("heddle-lsp driven over stdio", () => {
  let workspace;
  let session;
  let initialized;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "heddle-vscode-test-"));
    cpSync(path.join(repository, "examples"), workspace, { recursive: true });
    session = new Session(workspace);
    initialized = await session.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).href,
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: "examples" }],
      initializationOptions: { inlayHints: true },
      capabilities: {
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true },
          completion: { completionItem: { snippetSupport: true } },
          synchronization: { didSave: true },
        },
        workspace: { didChangeWatchedFiles: { dynamicRegistration: true } },
      },
    });
    await session.connection.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    if (session !== undefined) {
      assert.equal(await session.close(), 0, "the server exits with 0 after shutdown and exit");
    }
    rmSync(workspace, { recursive: true, force: true });
  });

  test("initialize: the features the extension relies on", () => {
    const capabilities = initialized.capabilities;
    assert.ok(capabilities.completionProvider?.triggerCharacters?.includes("<"));
    assert.ok(capabilities.codeLensProvider);
    assert.ok(capabilities.documentFormattingProvider);
    assert.ok(capabilities.inlayHintProvider);
    // VS Code pulls diagnostics; the extension drops pushed ones when the server answers pulls (src/client.ts).
    assert.ok(capabilities.diagnosticProvider, "the server answers textDocument/diagnostic");
    const commands = capabilities.executeCommandProvider?.commands ?? [];
    for (const command of ["heddle.runWorkflow", "heddle.planWorkflow"]) {
      assert.ok(commands.includes(command), `the server advertises ${command}`);
    }
  });

  test("every semantic token type of the legend has a TextMate scope in package.json", () => {
    const legend = initialized.capabilities.semanticTokensProvider.legend;
    const scopes = manifest.contributes.semanticTokenScopes.find((entry) => entry.language === "heddle").scopes;
    for (const type of legend.tokenTypes) {
      assert.ok(scopes[type], `semanticTokenScopes lacks ${type}`);
    }
    for (const selector of Object.keys(scopes)) {
      const [type, ...modifiers] = selector.split(".");
      assert.ok(legend.tokenTypes.includes(type), `semanticTokenScopes maps ${type}, which the server never sends`);
      for (const modifier of modifiers) {
        assert.ok(legend.tokenModifiers.includes(modifier), `the server has no modifier ${modifier}`);
      }
    }
  });

  test("a clean example publishes no error", async () => {
    const uri = session.open(path.join(workspace, "quickstart.he"));
    const published = await session.diagnostics(uri);
    assert.deepEqual(published.diagnostics.filter((d) => d.severity === 1), []);
  });

  test("an error is published with its code, range and message, and cleared when fixed", async () => {
    const file = path.join(workspace, "broken.he");
    const good = readFileSync(path.join(workspace, "quickstart.he"), "utf8");
    const bad = good.replace("| io.print", "| io.prnt");
    writeFileSync(file, bad);
    const uri = session.open(file, bad);
    const published = await session.diagnostics(uri);
    const errors = published.diagnostics.filter((d) => d.severity === 1);
    assert.equal(errors.length, 1, JSON.stringify(published.diagnostics));
    const [error] = errors;
    assert.match(String(error.code), /^HE\d{4}$/);
    assert.match(error.message, /prnt/);
    assert.deepEqual(error.range.start, positionOf(bad, "io.prnt", 3));
    assert.equal(published.version, 1);

    const at = positionOf(bad, "prnt");
    session.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: at, end: { line: at.line, character: at.character + 4 } }, text: "print" }],
    });
    const fixed = await session.diagnostics(uri, (params) => params.version === 2);
    assert.deepEqual(fixed.diagnostics.filter((d) => d.severity === 1), []);
  });

  test("textDocument/diagnostic (how VS Code asks) answers the error too", async () => {
    const uri = pathToFileURL(path.join(workspace, "pulled.he")).href;
    const text = readFileSync(path.join(workspace, "quickstart.he"), "utf8").replace("| io.print", "| io.prnt");
    session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "heddle", version: 1, text },
    });
    const report = await session.connection.sendRequest(DocumentDiagnosticRequest.type, { textDocument: { uri } });
    assert.equal(report.kind, "full");
    const errors = report.items.filter((d) => d.severity === 1);
    assert.equal(errors.length, 1, JSON.stringify(report.items));
    assert.match(errors[0].message, /prnt/);
  });

  test("a request VS Code cancels while the analysis runs does not fail the next ones", async () => {
    // VS Code cancels requests all the time (the cursor moved, the document changed); the analysis they
    // were waiting for is shared with every other request for that version and must survive.
    const file = path.join(workspace, "seeds", "analytics.he");
    const uri = session.open(file);
    const source = new CancellationTokenSource();
    const cancelled = session.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } }, source.token);
    source.cancel();
    await cancelled.catch(() => undefined);
    const symbols = await session.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } });
    assert.ok(symbols.length > 0);
    const report = await session.connection.sendRequest(DocumentDiagnosticRequest.type, { textDocument: { uri } });
    assert.equal(report.kind, "full");
  });

  test("completion inside `<` of an injection offers the function's resource keys", async () => {
    const file = path.join(workspace, "seeds", "fraud_detection.he");
    const text = readFileSync(file, "utf8");
    const uri = session.open(file, text);
    await session.diagnostics(uri);
    const list = await session.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: positionOf(text, "<connection=pg_db> pg.query", 1),
      context: { triggerKind: 2, triggerCharacter: "<" },
    });
    const labels = (Array.isArray(list) ? list : list.items).map((item) => item.label);
    assert.ok(labels.includes("connection"), `labels: ${labels.join(", ")}`);
    assert.ok(!labels.includes("pg_db"), "resources come after `key=`, not as keys");
  });

  test("completion after `key=` offers resources of the right kind", async () => {
    const file = path.join(workspace, "seeds", "fraud_detection.he");
    const text = readFileSync(file, "utf8");
    const uri = pathToFileURL(file).href;
    const list = await session.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: positionOf(text, "<connection=pg_db> pg.query", "<connection=".length),
    });
    const labels = (Array.isArray(list) ? list : list.items).map((item) => item.label);
    assert.ok(labels.includes("pg_db"), `labels: ${labels.join(", ")}`);
    assert.ok(!labels.includes("kf_broker"), "a Kafka connection is not a PostgreSQL connection");
  });

  test("code lenses call the extension's commands with [uri, workflow]", async () => {
    const file = path.join(workspace, "quickstart.he");
    const uri = pathToFileURL(file).href;
    const lenses = await session.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
    const commands = lenses.map((lens) => lens.command);
    assert.deepEqual(commands.map((c) => c.command).sort(), ["heddle.planWorkflow", "heddle.runWorkflow"]);
    for (const command of commands) {
      assert.deepEqual(command.arguments, [uri, "Quickstart"]);
    }
    const contributed = manifest.contributes.commands.map((c) => c.command);
    assert.ok(commands.every((c) => contributed.includes(c.command)), "package.json contributes the lens commands");
  });

  test("workspace/executeCommand heddle.planWorkflow answers the typed plan", async () => {
    const uri = pathToFileURL(path.join(workspace, "quickstart.he")).href;
    const plan = await session.connection.sendRequest(ExecuteCommandRequest.type, {
      command: "heddle.planWorkflow", arguments: [uri, "Quickstart"],
    });
    assert.match(plan, /Quickstart/);
    assert.match(plan, /io\.print/);
  });
});

describe("the $heddle problem matcher", () => {
  test("matches every diagnostic line that `heddle check` prints", () => {
    const cli = cliPath();
    const workspace = mkdtempSync(path.join(tmpdir(), "heddle-vscode-matcher-"));
    try {
      cpSync(path.join(repository, "examples"), workspace, { recursive: true });
      const text = readFileSync(path.join(workspace, "quickstart.he"), "utf8")
        .replace("| io.print", "| io.prnt")
        .replace("  > orders", "  > orders\n\n  orders | io.print");
      writeFileSync(path.join(workspace, "bad.he"), text);
      const result = spawnSync(cli, ["check", "bad.he", "seeds/validate_emails.he"], { cwd: workspace, encoding: "utf8" });
      assert.equal(result.status, 1, result.stderr);
      const pattern = manifest.contributes.problemPatterns.find((p) => p.name === "heddle");
      const regexp = new RegExp(pattern.regexp);
      const lines = result.stdout.split("\n").filter((line) => /^\S+\.he:\d+:\d+: /.test(line));
      assert.ok(lines.length >= 3, result.stdout);
      const severities = new Set();
      for (const line of lines) {
        const match = regexp.exec(line);
        assert.ok(match, `the problem pattern does not match: ${line}`);
        assert.ok(["bad.he", "seeds/validate_emails.he"].includes(match[pattern.file]), line);
        assert.ok(Number(match[pattern.line]) >= 1 && Number(match[pattern.column]) >= 1, line);
        assert.match(match[pattern.code], /^HE\d{4}$/);
        assert.ok(!match[pattern.message].endsWith("]"), line);
        severities.add(match[pattern.severity]);
      }
      assert.ok(severities.has("error") && severities.has("info"), [...severities].join(", "));
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
