// "Install" on the not-found notice: a virtual environment of the extension's own, with Heddle installed
// into it by pip — from the package index, or from a wheel or a clone the user points to.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

import { inEnvironment } from "./locate";
import {
  DISTRIBUTION,
  expandHome,
  localSourceProblem,
  pipInstallArguments,
  pythonVersionProblem,
  realFiles,
} from "./installing";

/** The extension's own environment (in its global storage), looked at after the workspace and PATH. */
export function ownEnvironment(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, "server-env");
}

/** Asks what to install, installs it; true when heddle-lsp is in the extension's environment. */
export async function installServer(context: vscode.ExtensionContext, log: (message: string) => void): Promise<boolean> {
  const source = await pickSource();
  if (source === undefined) {
    return false;
  }
  const python = await pickedPython();
  const venv = ownEnvironment(context);
  const title = "Heddle: installing the language server";
  const installed = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      try {
        progress.report({ message: `checking ${python}` });
        const version = await run(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], log, token);
        const problem = pythonVersionProblem(version);
        if (problem !== undefined) {
          throw new Error(`${python} cannot run Heddle: ${problem}. Pick another in the heddle.install.python setting.`);
        }
        progress.report({ message: `a virtual environment in ${venv}` });
        await fs.promises.rm(venv, { recursive: true, force: true });
        await fs.promises.mkdir(path.dirname(venv), { recursive: true });
        await run(python, ["-m", "venv", venv], log, token);
        progress.report({ message: `installing ${source} with pip` });
        await run(inEnvironment(venv, "python", process.platform), pipInstallArguments(source), log, token);
        if (!fs.existsSync(inEnvironment(venv, "heddle-lsp", process.platform))) {
          throw new Error(`pip installed ${source}, but it brought no heddle-lsp`);
        }
        log(`installed ${source} into ${venv}`);
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`installing Heddle failed: ${message}`);
        if (!token.isCancellationRequested) {
          void vscode.window.showErrorMessage(`Heddle: installing the language server failed: ${message}`, "Show Output")
            .then((choice) => choice === "Show Output" ? vscode.commands.executeCommand("heddle.showOutput") : undefined);
        }
        return false;
      }
    },
  );
  return installed;
}

interface SourceItem extends vscode.QuickPickItem {
  readonly local: boolean;
}

/** The distribution's name, or a wheel's or a clone's path; undefined when the user backs out. */
async function pickSource(): Promise<string | undefined> {
  const items: SourceItem[] = [
    {
      label: "A wheel or a folder on this machine…",
      detail: "a heddle_lang-….whl built with `python -m build`, or a clone of Heddle's repository",
      local: true,
    },
    {
      label: `${DISTRIBUTION} from the package index`,
      detail: "pip install heddle-lang; it is not published there yet: until it is, choose a wheel or a clone",
      local: false,
    },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: "Install Heddle's language server into an environment of the extension's own",
    placeHolder: "Install Heddle from…",
    ignoreFocusOut: true,
  });
  if (picked === undefined) {
    return undefined;
  }
  if (!picked.local) {
    return DISTRIBUTION;
  }
  const typed = await vscode.window.showInputBox({
    title: "Install Heddle from a wheel or a folder",
    prompt: "The path of a heddle_lang wheel (.whl) or of a clone of Heddle's repository",
    placeHolder: "/path/to/dist/heddle_lang-0.1.0-cp311-cp311-linux_x86_64.whl",
    ignoreFocusOut: true,
    validateInput: (value) => localSourceProblem(value, realFiles),
  });
  return typed === undefined ? undefined : expandHome(typed);
}

/**
 * The interpreter to create the environment with: the heddle.install.python setting, else the one
 * picked in the Python extension, else `python3` (`python` on Windows).
 */
async function pickedPython(): Promise<string> {
  const setting = vscode.workspace.getConfiguration("heddle").get<string>("install.python", "").trim();
  if (setting !== "") {
    return expandHome(setting);
  }
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (extension !== undefined) {
    try {
      const api = (extension.isActive ? extension.exports : await extension.activate()) as PythonApi | undefined;
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const active = api?.environments?.getActiveEnvironmentPath?.(folder)?.path;
      if (active !== undefined && realFiles.isFile(active)) {
        return active;
      }
    } catch {
      // The Python extension could not answer: fall back to python3.
    }
  }
  return process.platform === "win32" ? "python" : "python3";
}

/** The part of the Python extension's API this uses. */
interface PythonApi {
  readonly environments?: {
    readonly getActiveEnvironmentPath?: (resource?: vscode.Uri) => { readonly path: string } | undefined;
  };
}

/** Runs `command`, its output into the log; resolves with its stdout, rejects when it fails or is cancelled. */
function run(command: string, args: string[], log: (message: string) => void, token: vscode.CancellationToken):
  Promise<string> {
  log(`$ ${command} ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let tail = "";
    const keep = (chunk: Buffer, stdout: boolean) => {
      const text = chunk.toString();
      if (stdout) {
        out += text;
      }
      tail = (tail + text).slice(-2_000);
      text.split(/\r?\n/).filter((line) => line.trim() !== "").forEach((line) => log(`  ${line}`));
    };
    child.stdout.on("data", (chunk: Buffer) => keep(chunk, true));
    child.stderr.on("data", (chunk: Buffer) => keep(chunk, false));
    const cancelled = token.onCancellationRequested(() => child.kill());
    child.on("error", (error) => {
      cancelled.dispose();
      reject(new Error(`${command} could not be started (${error.message})`));
    });
    child.on("close", (code, signal) => {
      cancelled.dispose();
      if (token.isCancellationRequested) {
        reject(new Error("cancelled"));
      } else if (code === 0) {
        resolve(out);
      } else {
        const last = tail.trim().split(/\r?\n/).slice(-1)[0] ?? "";
        reject(new Error(`\`${path.basename(command)} ${args.slice(0, 3).join(" ")}\` exited with ${code ?? signal}` +
          (last !== "" ? `: ${last}` : "")));
      }
    });
  });
}
