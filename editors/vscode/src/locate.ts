// Finding the `heddle-lsp` and `heddle` executables. No `vscode` import: unit-tested under plain Node.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type Platform = NodeJS.Platform;

/** Where an executable was found, and why there: shown in the output channel. */
export interface Found {
  readonly path: string;
  readonly origin: "setting" | "virtual environment" | "PATH" | "beside the server" | "extension's own environment";
}

/** Every place that was looked at, for an error message that says what to fix. */
export interface NotFound {
  readonly looked: readonly string[];
  /** The setting names a file that does not exist or cannot be executed. */
  readonly badSetting?: string;
}

export type Lookup = Found | NotFound;

export function isFound(lookup: Lookup): lookup is Found {
  return "path" in lookup;
}

export interface Environment {
  readonly platform: Platform;
  /** The `PATH` variable. */
  readonly pathVariable: string;
  readonly home: string;
  /** Is there an executable file here? */
  readonly executable: (file: string) => boolean;
}

export function processEnvironment(): Environment {
  return {
    platform: process.platform,
    pathVariable: process.env.PATH ?? "",
    home: os.homedir(),
    executable: isExecutable,
  };
}

function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === "win32") {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathApi(platform: Platform): path.PlatformPath {
  return platform === "win32" ? path.win32 : path.posix;
}

/** `heddle-lsp` → `heddle-lsp.exe` on Windows. */
export function executableName(name: string, platform: Platform): string {
  return platform === "win32" ? `${name}.exe` : name;
}

/** The executable inside each workspace folder's `.venv` and `venv`, in that order. */
export function virtualEnvironmentCandidates(name: string, folders: readonly string[], platform: Platform): string[] {
  const api = pathApi(platform);
  const bin = platform === "win32" ? "Scripts" : "bin";
  const file = executableName(name, platform);
  return folders.flatMap((folder) => [".venv", "venv"].map((venv) => api.join(folder, venv, bin, file)));
}

/**
 * The setting's value as a path: `~` and `${workspaceFolder}` expanded, a relative path taken from the
 * first workspace folder.
 */
export function expandSetting(value: string, folders: readonly string[], env: Environment): string {
  const api = pathApi(env.platform);
  let expanded = value.trim().replace(/\$\{workspaceFolder\}/g, folders[0] ?? "");
  if (expanded === "~" || expanded.startsWith("~/") || expanded.startsWith("~\\")) {
    expanded = api.join(env.home, expanded.slice(1));
  }
  if (!api.isAbsolute(expanded) && folders.length > 0 && /[\\/]/.test(expanded)) {
    expanded = api.join(folders[0], expanded);
  }
  return expanded;
}

/** The executable named `name` on `PATH`. */
export function onPath(name: string, env: Environment): string | undefined {
  const api = pathApi(env.platform);
  const separator = env.platform === "win32" ? ";" : ":";
  const file = executableName(name, env.platform);
  for (const dir of env.pathVariable.split(separator)) {
    if (dir !== "") {
      const candidate = api.join(dir, file);
      if (env.executable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The executable `name` inside the virtual environment `venv` (`bin/`, or `Scripts\` on Windows). */
export function inEnvironment(venv: string, name: string, platform: Platform): string {
  return pathApi(platform).join(venv, platform === "win32" ? "Scripts" : "bin", executableName(name, platform));
}

/**
 * The language server: the `heddle.server.path` setting if set (a bare name is looked up on `PATH`),
 * else the workspace's virtual environment, else `PATH`, else the environment the extension installed
 * Heddle into (`own`, when given).
 */
export function locateServer(setting: string, folders: readonly string[], env: Environment, own?: string): Lookup {
  if (setting.trim() !== "") {
    const expanded = expandSetting(setting, folders, env);
    const api = pathApi(env.platform);
    const found = api.isAbsolute(expanded) ? (env.executable(expanded) ? expanded : undefined) : onPath(expanded, env);
    return found !== undefined ? { path: found, origin: "setting" } : { looked: [expanded], badSetting: expanded };
  }
  const candidates = virtualEnvironmentCandidates("heddle-lsp", folders, env.platform);
  const inVenv = candidates.find((candidate) => env.executable(candidate));
  if (inVenv !== undefined) {
    return { path: inVenv, origin: "virtual environment" };
  }
  const fromPath = onPath("heddle-lsp", env);
  if (fromPath !== undefined) {
    return { path: fromPath, origin: "PATH" };
  }
  const installed = own !== undefined ? inEnvironment(own, "heddle-lsp", env.platform) : undefined;
  if (installed !== undefined && env.executable(installed)) {
    return { path: installed, origin: "extension's own environment" };
  }
  return { looked: [...candidates, `heddle-lsp on PATH`, ...(installed !== undefined ? [installed] : [])] };
}

/**
 * The `heddle` command: beside the server that was found (one installation), else the workspace's
 * virtual environment, else `PATH`.
 */
export function locateCli(server: string | undefined, folders: readonly string[], env: Environment): Lookup {
  const api = pathApi(env.platform);
  const looked: string[] = [];
  if (server !== undefined) {
    const beside = api.join(api.dirname(server), executableName("heddle", env.platform));
    if (env.executable(beside)) {
      return { path: beside, origin: "beside the server" };
    }
    looked.push(beside);
  }
  const candidates = virtualEnvironmentCandidates("heddle", folders, env.platform);
  const inVenv = candidates.find((candidate) => env.executable(candidate));
  if (inVenv !== undefined) {
    return { path: inVenv, origin: "virtual environment" };
  }
  const fromPath = onPath("heddle", env);
  if (fromPath !== undefined) {
    return { path: fromPath, origin: "PATH" };
  }
  return { looked: [...looked, ...candidates, "heddle on PATH"] };
}
