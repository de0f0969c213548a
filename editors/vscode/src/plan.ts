// The typed plan of a workflow as a picture: `heddle plan --format json`, laid out and drawn in a webview
// by Graphviz compiled to WebAssembly (bundled into dist/webview/plan.js: nothing is fetched).
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import * as vscode from "vscode";

import { runCli } from "./cli";
import type { HeddleServer } from "./client";
import { isFound } from "./locate";

/** What the webview script receives. */
export type PlanMessage =
  | { readonly kind: "plan"; readonly title: string; readonly plan: unknown }
  | { readonly kind: "error"; readonly title: string; readonly message: string };

/** A panel and the last plan for it, sent whenever its script says it is ready (also after a reload). */
class PlanPanel {
  private ready = false;
  private last: PlanMessage | undefined;

  constructor(readonly panel: vscode.WebviewPanel) {
    panel.webview.onDidReceiveMessage((message: { kind?: string }) => {
      if (message.kind === "ready") {
        this.ready = true;
        void this.flush();
      }
    });
  }

  async post(message: PlanMessage): Promise<void> {
    this.last = message;
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.ready && this.last !== undefined) {
      await this.panel.webview.postMessage(this.last);
    }
  }
}

export class PlanPanels implements vscode.Disposable {
  private readonly panels = new Map<string, PlanPanel>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext, private readonly server: HeddleServer) {
    // Keep open plans current: redraw when their file is saved.
    this.disposables.push(vscode.workspace.onDidSaveTextDocument((document) => {
      for (const [key, panel] of this.panels) {
        const { uri, workflow } = JSON.parse(key) as { uri: string; workflow: string };
        if (uri === document.uri.toString()) {
          void this.render(panel, document, workflow);
        }
      }
    }));
  }

  /** Show (or bring forward) the plan of `workflow` in `document`. */
  async show(document: vscode.TextDocument, workflow: string): Promise<void> {
    const key = JSON.stringify({ uri: document.uri.toString(), workflow });
    let panel = this.panels.get(key);
    if (panel === undefined) {
      const dist = vscode.Uri.joinPath(this.context.extensionUri, "dist", "webview");
      const webviewPanel = vscode.window.createWebviewPanel("heddle.plan", `Plan: ${workflow}`,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, localResourceRoots: [dist], retainContextWhenHidden: true });
      webviewPanel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, "images", "icon.png");
      webviewPanel.webview.html = this.html(webviewPanel.webview, dist);
      panel = new PlanPanel(webviewPanel);
      this.panels.set(key, panel);
      webviewPanel.onDidDispose(() => this.panels.delete(key));
    } else {
      panel.panel.reveal(undefined, true);
    }
    await this.render(panel, document, workflow);
  }

  dispose(): void {
    this.panels.forEach((panel) => panel.panel.dispose());
    this.disposables.forEach((d) => d.dispose());
  }

  private async render(panel: PlanPanel, document: vscode.TextDocument, workflow: string): Promise<void> {
    const title = `${workflow} — ${path.basename(document.uri.fsPath)}`;
    await panel.post(await this.plan(document, workflow, title));
  }

  private async plan(document: vscode.TextDocument, workflow: string, title: string): Promise<PlanMessage> {
    if (!vscode.workspace.isTrusted) {
      return { kind: "error", title, message: "Restricted Mode: planning imports the project's plugins, so it needs a " +
        "trusted workspace (Manage Workspace Trust)." };
    }
    const cli = this.server.cli();
    if (!isFound(cli)) {
      return { kind: "error", title, message: "The heddle command was not found (looked at: " +
        `${cli.looked.join(", ")}). Install Heddle in the workspace's virtual environment or on PATH.` };
    }
    // The text of the editor, saved or not; the project (heddle.toml) is found from the file's folder.
    const cwd = document.uri.scheme === "file"
      ? path.dirname(document.uri.fsPath)
      : (vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd());
    const result = await runCli(cli.path, ["plan", "-", "--workflow", workflow, "--format", "json"],
      { cwd, input: document.getText() });
    if (result.code !== 0) {
      const name = path.basename(document.uri.fsPath);
      const details = result.stderr.trim().replace(/^<stdin>/gm, name) || `heddle plan exited with code ${String(result.code)}`;
      return { kind: "error", title, message: details };
    }
    try {
      return { kind: "plan", title, plan: JSON.parse(result.stdout) as unknown };
    } catch {
      return { kind: "error", title, message: `heddle plan printed something else than a plan:\n${result.stdout.slice(0, 2000)}` };
    }
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, "plan.js"));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, "plan.css"));
    const nonce = randomBytes(16).toString("hex");
    // Graphviz is compiled from WebAssembly bytes inside the script: that needs 'wasm-unsafe-eval', not 'unsafe-eval'.
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `style-src ${webview.cspSource} 'unsafe-inline'`,
      `script-src 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Heddle plan</title>
</head>
<body>
<header><h1 id="title">Plan</h1><span id="status">Rendering…</span><button id="fit" type="button">Fit</button></header>
<main id="graph"></main>
<pre id="error" hidden></pre>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}
