// What the Install flow needs that does not need `vscode`: unit-tested under plain Node.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Heddle's Python distribution (`heddle` on the package index is another project's). */
export const DISTRIBUTION = "heddle-lang";

/** The oldest Python Heddle runs on. */
export const MINIMUM_PYTHON: readonly [number, number] = [3, 11];

/** What the user may point the Install flow to, instead of the package index. */
export interface Files {
  readonly isFile: (file: string) => boolean;
  readonly isDirectory: (folder: string) => boolean;
}

export const realFiles: Files = {
  isFile: (file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false,
  isDirectory: (folder) => fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory() ?? false,
};

/** A typed path with `~` expanded. */
export function expandHome(input: string, home: string = os.homedir()): string {
  const trimmed = input.trim();
  if (trimmed === "~" || trimmed.startsWith("~/") || trimmed.startsWith("~\\")) {
    return path.join(home, trimmed.slice(1));
  }
  return trimmed;
}

/**
 * Why `input` cannot be installed (a message for the input box), or undefined when it is a built
 * heddle_lang wheel or a folder with a pyproject.toml (a clone of Heddle's repository).
 */
export function localSourceProblem(input: string, files: Files, home?: string): string | undefined {
  const candidate = expandHome(input, home);
  if (candidate === "") {
    return "the path of a heddle_lang wheel (.whl) or of a clone of Heddle's repository";
  }
  if (!path.isAbsolute(candidate)) {
    return "an absolute path, please";
  }
  if (files.isFile(candidate)) {
    return /^heddle_lang-.+\.whl$/.test(path.basename(candidate))
      ? undefined
      : "not a Heddle wheel: its name starts with heddle_lang- and ends with .whl";
  }
  if (files.isDirectory(candidate)) {
    return files.isFile(path.join(candidate, "pyproject.toml"))
      ? undefined
      : "this folder has no pyproject.toml: choose a clone of Heddle's repository";
  }
  return "there is no file or folder at this path";
}

/** pip's arguments that install `source`: the distribution's name, a wheel or a folder. */
export function pipInstallArguments(source: string): string[] {
  return ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", source];
}

/** The Python that reports `version` ("3.11"): undefined when Heddle runs on it, else why not. */
export function pythonVersionProblem(version: string): string | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version.trim());
  if (match === null) {
    return `it did not say its version (it printed "${version.trim()}")`;
  }
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const [needMajor, needMinor] = MINIMUM_PYTHON;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    return `it is Python ${major}.${minor}, and Heddle needs ${needMajor}.${needMinor} or later`;
  }
  return undefined;
}
