// Entry point: the language client, the commands, the task provider.
import * as vscode from "vscode";

import { HeddleServer } from "./client";
import { registerCommands } from "./commands";
import { PlanPanels } from "./plan";
import { HeddleTaskProvider, TASK_TYPE } from "./tasks";

let server: HeddleServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Heddle");
  server = new HeddleServer(context, output);
  const plans = new PlanPanels(context, server);
  context.subscriptions.push(
    output,
    server,
    plans,
    ...registerCommands(server, plans),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new HeddleTaskProvider(server)),
  );
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
