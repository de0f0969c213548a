// Running the `heddle` command line: its output as values, never an exception for a failing command.
import { spawn } from "node:child_process";

export interface CliResult {
  /** The exit code; `null` when the process could not start or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  /** Written to the command's standard input (for `-` as the file). */
  readonly input?: string;
  readonly timeoutMs?: number;
}

export function runCli(cli: string, args: readonly string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(cli, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill(), options.timeoutMs ?? 60_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: "", stderr: `cannot start ${cli}: ${error.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the command may exit before reading its input
    child.stdin.end(options.input ?? "");
  });
}

const runSupport = new Map<string, Promise<boolean>>();

/** Ask again next time (Heddle may have been upgraded). */
export function forgetRunSupport(): void {
  runSupport.clear();
}

/** Does this `heddle` have the `run` command? (It arrives with the engine.) Asked once per executable. */
export function supportsRun(cli: string, cwd: string): Promise<boolean> {
  let known = runSupport.get(cli);
  if (known === undefined) {
    known = runCli(cli, ["run", "--help"], { cwd, timeoutMs: 20_000 }).then((result) => result.code === 0);
    runSupport.set(cli, known);
  }
  return known;
}
