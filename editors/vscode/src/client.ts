// The language client: finds `heddle-lsp`, starts it, restarts it when its settings change.
import * as vscode from "vscode";
import {
  type ExecuteCommandParams,
  ExecuteCommandRequest,
  type LanguageClientOptions,
  LanguageClient,
  type ServerCapabilities,
  type ServerOptions,
  type StaticFeature,
} from "vscode-languageclient/node";

import { forgetRunSupport } from "./cli";
import { installServer, ownEnvironment } from "./install";
import { type Found, isFound, locateCli, locateServer, type Lookup, processEnvironment } from "./locate";

/** Commands the server advertises that the extension implements itself (the server's code lens names them). */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set(["heddle.runWorkflow", "heddle.planWorkflow"]);

/** How long a virtual environment must be still before the extension looks for heddle-lsp in it again. */
const RETRY_AFTER_MS = 1_000;

// Notifications show text as written, but for links: quotes, not backticks.
const HELP = "Install installs Heddle (the Python distribution heddle-lang) into an environment of the extension's " +
  "own; or run \"python3 -m venv .venv && .venv/bin/pip install PATH\" in the workspace, PATH being a clone of " +
  "Heddle's repository or a heddle_lang wheel built from it, and the server starts by itself.";

/** A `command:` link for a notification's text. */
function commandLink(title: string, command: string, args: unknown[] = []): string {
  const query = args.length > 0 ? `?${encodeURIComponent(JSON.stringify(args))}` : "";
  return `[${title}](command:${command}${query})`;
}

/**
 * `heddle.runWorkflow` and `heddle.planWorkflow` are the extension's own commands (a task and a picture of
 * the plan): the client must not register them as forwarders to the server, as it does for the commands a
 * server advertises.
 */
class CommandFilter implements StaticFeature {
  fillClientCapabilities(): void {}

  preInitialize(capabilities: ServerCapabilities): void {
    const commands = capabilities.executeCommandProvider?.commands;
    if (commands !== undefined) {
      capabilities.executeCommandProvider = {
        ...capabilities.executeCommandProvider,
        commands: commands.filter((command) => !CLIENT_COMMANDS.has(command)),
      };
    }
  }

  initialize(): void {}

  getState(): { kind: "static" } {
    return { kind: "static" };
  }

  clear(): void {}
}

export class HeddleServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private server: Found | undefined;
  private starting: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Closes the notice that heddle-lsp is missing, while it is up. */
  private closeNotice: (() => void) | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.OutputChannel,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration("heddle.server") || event.affectsConfiguration("heddle.inlayHints")) {
          this.log("settings changed: restarting the server");
          void this.restart();
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        if (this.client === undefined) {
          void this.start();
        }
      }),
    );
    // Heddle installed into the workspace's .venv after VS Code opened: start without being asked
    // once the installation settles (events for files in a folder just created can be missed, so any
    // change under a virtual environment is a reason to look again).
    const watcher = vscode.workspace.createFileSystemWatcher("**/{.venv,venv,.venv/**,venv/**}", false, true, true);
    this.disposables.push(watcher, watcher.onDidCreate(() => {
      if (this.client === undefined) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.start({ quiet: true }), RETRY_AFTER_MS);
      }
    }), { dispose: () => clearTimeout(this.retry) }, { dispose: () => this.closeNotice?.() });
  }

  /** The running client, if any. */
  get running(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  /** The `heddle` command of the same installation as the server. */
  cli(): Lookup {
    return locateCli(this.server?.path ?? this.locate().path, folders(), processEnvironment());
  }

  /** Find and start the server; `quiet`: do not tell the user again that it is missing. */
  start(options: { quiet?: boolean } = {}): Promise<void> {
    this.starting ??= this.startClient(options.quiet ?? false).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Installs Heddle into the extension's own environment (asking from where), then starts the server. */
  async install(): Promise<void> {
    this.closeNotice?.();
    if (await installServer(this.context, (message) => this.log(message))) {
      await this.restart();
    } else if (this.client === undefined) {
      await this.start();
    }
  }

  async restart(): Promise<void> {
    forgetRunSupport();
    await this.starting;
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.server = undefined;
    if (client !== undefined) {
      try {
        await client.dispose(5_000);
      } catch (error) {
        this.log(`stopping the server: ${String(error)}`);
      }
    }
  }

  /** `workspace/executeCommand` on the server; undefined when the server is not running. */
  async execute(command: string, args: unknown[]): Promise<unknown> {
    const client = this.running;
    if (client === undefined) {
      return undefined;
    }
    const params: ExecuteCommandParams = { command, arguments: args };
    return client.sendRequest(ExecuteCommandRequest.type, params);
  }

  log(message: string): void {
    this.output.appendLine(`[${new Date().toLocaleTimeString()}] ${message}`);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    void this.stop();
  }

  private locate(): { path?: string; lookup: Lookup } {
    const setting = vscode.workspace.getConfiguration("heddle").get<string>("server.path", "");
    const lookup = locateServer(setting, folders(), processEnvironment(), ownEnvironment(this.context));
    return { path: isFound(lookup) ? lookup.path : undefined, lookup };
  }

  private async startClient(quiet: boolean): Promise<void> {
    if (this.client !== undefined) {
      return;
    }
    if (!vscode.workspace.isTrusted) {
      this.log("Restricted Mode: heddle-lsp starts once the workspace is trusted (it imports the project's plugins)");
      return;
    }
    const { lookup } = this.locate();
    if (!isFound(lookup)) {
      if (!quiet) {
        this.log(`heddle-lsp not found; looked at: ${lookup.looked.join(", ")}`);
        this.reportMissing(lookup.badSetting);
      }
      return;
    }
    this.server = lookup;
    this.log(`starting ${lookup.path} (from the ${lookup.origin})`);
    const settings = vscode.workspace.getConfiguration("heddle");
    const folder = folders()[0];
    // No `transport`: heddle-lsp speaks over its stdin/stdout by default, and TransportKind.stdio would add
    // a `--stdio` argument that heddle-lsp before 0.1 refused.
    const serverOptions: ServerOptions = {
      command: lookup.path,
      args: ["--log-level", settings.get<string>("server.logLevel", "WARNING")],
      options: folder !== undefined ? { cwd: folder } : {},
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file", language: "heddle" }, { scheme: "untitled", language: "heddle" }],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      initializationOptions: { inlayHints: settings.get<boolean>("inlayHints.enabled", true) },
      middleware: {
        // VS Code pulls diagnostics from a server that answers pulls; pushed ones would show twice.
        handleDiagnostics: (uri, diagnostics, next) => {
          if (client.initializeResult?.capabilities.diagnosticProvider === undefined) {
            next(uri, diagnostics);
          }
        },
      },
    };
    const client = new LanguageClient("heddle", "Heddle", serverOptions, clientOptions);
    client.registerFeature(new CommandFilter());
    this.client = client;
    try {
      await client.start();
      this.closeNotice?.();
      this.log(`heddle-lsp ${client.initializeResult?.serverInfo?.version ?? ""} is running`);
    } catch (error) {
      this.client = undefined;
      this.log(`heddle-lsp failed to start: ${String(error)}`);
      const choice = await vscode.window.showErrorMessage(
        `Heddle: the language server ${lookup.path} failed to start (${String(error)}).`, "Show Output", "Open Settings");
      if (choice === "Show Output") {
        this.output.show();
      } else if (choice === "Open Settings") {
        await vscode.commands.executeCommand("workbench.action.openSettings", "heddle.server.path");
      }
    }
  }

  /**
   * The notice that heddle-lsp is missing, with links to act. A notification with progress, because an
   * extension can close only those: it goes away as soon as a server runs, wherever that came from.
   */
  private reportMissing(badSetting: string | undefined): void {
    if (this.closeNotice !== undefined) {
      return;
    }
    const settings = commandLink("Open Settings", "workbench.action.openSettings", ["heddle.server.path"]);
    // The extension's own page (its README, Requirements first), offline.
    const help = commandLink("Installation Help", "extension.open", [this.context.extension.id]);
    const message = badSetting !== undefined
      ? `the heddle.server.path setting names ${badSetting}, which is not an executable file: ${settings} to fix ` +
        `it or clear it. ${help}`
      : `the language server heddle-lsp was not found: waiting for it. ${commandLink("Install", "heddle.installServer")}` +
        ` · ${settings} · ${help}. ${HELP}`;
    let close: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => {
      close = resolve;
    });
    this.closeNotice = close;
    void closed.then(() => {
      this.closeNotice = undefined;
    });
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Heddle", cancellable: true },
      (progress, token) => {
        progress.report({ message });
        token.onCancellationRequested(close);
        return closed;
      },
    );
  }
}

export function folders(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath);
}
