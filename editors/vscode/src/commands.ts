// The extension's commands. The server's code lens calls the first two with `[uri, workflow]`;
// from the palette they act on the active editor and ask which workflow when there are several.
import * as path from "node:path";
import * as vscode from "vscode";

import { supportsRun } from "./cli";
import type { HeddleServer } from "./client";
import { isFound } from "./locate";
import type { PlanPanels } from "./plan";
import { createTask, definitionFile, TASK_TYPE } from "./tasks";
import { workflowNames } from "./workflows";

interface Target {
  readonly document: vscode.TextDocument;
  readonly workflow: string;
}

export function registerCommands(server: HeddleServer, plans: PlanPanels): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand("heddle.runWorkflow", (uri?: unknown, workflow?: unknown) =>
      runWorkflow(server, uri, workflow)),
    vscode.commands.registerCommand("heddle.planWorkflow", async (uri?: unknown, workflow?: unknown) => {
      const target = await workflowTarget(uri, workflow);
      if (target !== undefined) {
        await plans.show(target.document, target.workflow);
      }
    }),
    vscode.commands.registerCommand("heddle.checkFile", (uri?: unknown) => checkFile(server, uri)),
    vscode.commands.registerCommand("heddle.restartServer", async () => {
      server.log("restart requested");
      await server.restart();
    }),
    vscode.commands.registerCommand("heddle.showOutput", () => server.output.show()),
    vscode.commands.registerCommand("heddle.installServer", () => server.install()),
  ];
}

/** `heddle run FILE --workflow NAME` as a task; for a `heddle` without `run`, the server runs it (with progress). */
async function runWorkflow(server: HeddleServer, uri: unknown, workflow: unknown): Promise<void> {
  const target = await workflowTarget(uri, workflow);
  if (target === undefined || !(await savedOnDisk(target.document))) {
    return;
  }
  const cli = server.cli();
  const cwd = path.dirname(target.document.uri.fsPath);
  if (isFound(cli) && (await supportsRun(cli.path, cwd))) {
    const { file, scope } = definitionFile(target.document.uri);
    const task = createTask(server, { type: TASK_TYPE, command: "run", file, workflow: target.workflow }, scope);
    if (task !== undefined) {
      await vscode.tasks.executeTask(task);
      return;
    }
  }
  if (server.running !== undefined) {
    await server.execute("heddle.runWorkflow", [target.document.uri.toString(), target.workflow]);
    return;
  }
  void vscode.window.showErrorMessage(isFound(cli)
    ? `Heddle: ${cli.path} cannot run workflows (it has no "run" command); upgrade Heddle.`
    : "Heddle: the heddle command was not found. Install Heddle in the workspace's virtual environment or on PATH.");
}

/** `heddle check FILE` as a task: its problems come through the `$heddle` problem matcher. */
async function checkFile(server: HeddleServer, uri: unknown): Promise<void> {
  const document = await targetDocument(uri);
  if (document === undefined || !(await savedOnDisk(document))) {
    return;
  }
  const { file, scope } = definitionFile(document.uri);
  const task = createTask(server, { type: TASK_TYPE, command: "check", file }, scope);
  if (task === undefined) {
    void vscode.window.showErrorMessage(
      "Heddle: the heddle command was not found. Install Heddle in the workspace's virtual environment or on PATH.");
    return;
  }
  await vscode.tasks.executeTask(task);
}

async function targetDocument(uri: unknown): Promise<vscode.TextDocument | undefined> {
  if (typeof uri === "string" || uri instanceof vscode.Uri) {
    return vscode.workspace.openTextDocument(typeof uri === "string" ? vscode.Uri.parse(uri) : uri);
  }
  const editor = vscode.window.activeTextEditor;
  if (editor?.document.languageId === "heddle") {
    return editor.document;
  }
  void vscode.window.showErrorMessage("Heddle: open a .he file first.");
  return undefined;
}

async function workflowTarget(uri: unknown, workflow: unknown): Promise<Target | undefined> {
  const document = await targetDocument(uri);
  if (document === undefined) {
    return undefined;
  }
  if (typeof workflow === "string") {
    return { document, workflow };
  }
  const names = workflowNames(document.getText());
  if (names.length === 0) {
    void vscode.window.showErrorMessage(`Heddle: ${path.basename(document.uri.fsPath)} declares no workflow.`);
    return undefined;
  }
  const picked = names.length === 1 ? names[0] : await vscode.window.showQuickPick(names, { placeHolder: "Workflow" });
  return picked !== undefined ? { document, workflow: picked } : undefined;
}

/** Commands that run `heddle` on the file need it on disk and current. */
async function savedOnDisk(document: vscode.TextDocument): Promise<boolean> {
  if (document.uri.scheme !== "file") {
    void vscode.window.showErrorMessage("Heddle: save the file first; the heddle command reads it from disk.");
    return false;
  }
  return !document.isDirty || document.save();
}
