// Tasks of type `heddle`: `heddle check FILE` and `heddle run FILE --workflow NAME`, with `$heddle` problems.
import * as path from "node:path";
import * as vscode from "vscode";

import { supportsRun } from "./cli";
import type { HeddleServer } from "./client";
import { isFound } from "./locate";
import { workflowNames } from "./workflows";

export const TASK_TYPE = "heddle";

export interface HeddleTaskDefinition extends vscode.TaskDefinition {
  readonly command: "check" | "run";
  /** A .he file or (for `check`) a folder, relative to the task's workspace folder or absolute. */
  readonly file: string;
  readonly workflow?: string;
}

/** How many `.he` files the task picker offers tasks for. */
const LISTED_FILES = 100;

export function isHeddleTask(definition: vscode.TaskDefinition): definition is HeddleTaskDefinition {
  return definition.type === TASK_TYPE && (definition.command === "check" || definition.command === "run") &&
    typeof definition.file === "string";
}

export function taskLabel(definition: HeddleTaskDefinition): string {
  return definition.command === "run" ? `run ${definition.workflow ?? "?"} (${definition.file})` : `check ${definition.file}`;
}

/** The task for `definition`, or undefined when the `heddle` command cannot be found. */
export function createTask(
  server: HeddleServer,
  definition: HeddleTaskDefinition,
  scope: vscode.WorkspaceFolder | vscode.TaskScope.Workspace,
): vscode.Task | undefined {
  const cli = server.cli();
  if (!isFound(cli)) {
    return undefined;
  }
  const folder = typeof scope === "object" ? scope.uri.fsPath : undefined;
  const args = definition.command === "run"
    ? ["run", definition.file, ...(definition.workflow !== undefined ? ["--workflow", definition.workflow] : [])]
    : ["check", definition.file];
  const cwd = folder ?? path.dirname(path.resolve(definition.file));
  const task = new vscode.Task(definition, scope, taskLabel(definition), TASK_TYPE,
    new vscode.ProcessExecution(cli.path, args, { cwd }), "$heddle");
  task.group = definition.command === "check" ? vscode.TaskGroup.Build : undefined;
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
  return task;
}

/** The task's file as written in a definition: relative to the document's workspace folder when inside one. */
export function definitionFile(document: vscode.Uri): { file: string; scope: vscode.WorkspaceFolder | vscode.TaskScope.Workspace } {
  const folder = vscode.workspace.getWorkspaceFolder(document);
  if (folder === undefined) {
    return { file: document.fsPath, scope: vscode.TaskScope.Workspace };
  }
  return { file: path.relative(folder.uri.fsPath, document.fsPath) || ".", scope: folder };
}

export class HeddleTaskProvider implements vscode.TaskProvider {
  constructor(private readonly server: HeddleServer) {}

  async provideTasks(token: vscode.CancellationToken): Promise<vscode.Task[]> {
    const tasks: vscode.Task[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const task = createTask(this.server, { type: TASK_TYPE, command: "check", file: "." }, folder);
      if (task !== undefined) {
        tasks.push(task);
      }
    }
    const cli = this.server.cli();
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!isFound(cli) || folder === undefined || !(await supportsRun(cli.path, folder.uri.fsPath))) {
      return tasks;
    }
    const files = await vscode.workspace.findFiles("**/*.he", "**/node_modules/**", LISTED_FILES, token);
    for (const uri of files) {
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const { file, scope } = definitionFile(uri);
      for (const workflow of workflowNames(text)) {
        const task = createTask(this.server, { type: TASK_TYPE, command: "run", file, workflow }, scope);
        if (task !== undefined) {
          tasks.push(task);
        }
      }
    }
    return tasks;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const definition = task.definition;
    if (!isHeddleTask(definition) || task.scope === undefined || task.scope === vscode.TaskScope.Global) {
      return undefined;
    }
    const resolved = createTask(this.server, definition, task.scope);
    if (resolved !== undefined && task.problemMatchers.length > 0) {
      resolved.problemMatchers = task.problemMatchers;
    }
    return resolved;
  }
}
