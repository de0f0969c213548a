// Checks a built .vsix: exactly the expected files, a manifest whose every path is in the package, and an
// extension bundle that needs nothing at run time but `vscode` and Node's own modules.
// Usage: node scripts/check-vsix.mjs heddle.vsix
import { execFileSync } from "node:child_process";
import { builtinModules } from "node:module";
import { statSync } from "node:fs";

const vsix = process.argv[2];
if (vsix === undefined) {
  console.error("usage: node scripts/check-vsix.mjs FILE.vsix");
  process.exit(2);
}

const EXPECTED = [
  "[Content_Types].xml",
  "extension.vsixmanifest",
  "extension/package.json",
  "extension/readme.md",
  "extension/LICENSE.txt",
  "extension/images/icon.png",
  "extension/dist/extension.js",
  "extension/dist/webview/plan.js",
  "extension/dist/webview/plan.css",
  "extension/syntaxes/heddle.tmLanguage.json",
  "extension/language-configuration.json",
  "extension/prql-language-configuration.json",
  "extension/snippets/heddle.json",
];
const MAX_BYTES = 4 * 1024 * 1024;

const failures = [];
const check = (ok, message) => {
  if (!ok) {
    failures.push(message);
  }
};

const unzip = (...args) => execFileSync("unzip", [...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
const entries = unzip("-Z1", vsix).split("\n").filter((line) => line !== "" && !line.endsWith("/"));
const inPackage = new Set(entries);

for (const expected of EXPECTED) {
  check(inPackage.has(expected), `missing: ${expected}`);
}
for (const entry of entries) {
  check(EXPECTED.includes(entry), `unexpected: ${entry}`);
}
check(statSync(vsix).size <= MAX_BYTES, `${vsix} is ${statSync(vsix).size} bytes (at most ${MAX_BYTES})`);

const manifest = JSON.parse(unzip("-p", vsix, "extension/package.json"));
const packaged = (file) => inPackage.has(`extension/${file.replace(/^\.\//, "")}`);
check(manifest.name === "heddle" && /^\d+\.\d+\.\d+$/.test(manifest.version), "name and version");
check(packaged(manifest.main), `main ${manifest.main} is not in the package`);
check(packaged(manifest.icon), `icon ${manifest.icon} is not in the package`);
check(manifest.engines?.vscode?.startsWith("^1."), "engines.vscode");
check(manifest.activationEvents?.includes("onLanguage:heddle"), "activation on the heddle language");
check(manifest.capabilities?.untrustedWorkspaces?.supported === "limited", "limited in untrusted workspaces");
check(Object.keys(manifest.dependencies ?? {}).every((name) => name === "vscode-languageclient"), "dependencies");

const contributes = manifest.contributes ?? {};
const heddle = contributes.languages?.find((language) => language.id === "heddle");
check(heddle?.extensions?.includes(".he"), "the heddle language for .he files");
for (const language of contributes.languages ?? []) {
  check(packaged(language.configuration), `language configuration ${language.configuration} is not in the package`);
}
for (const grammar of contributes.grammars ?? []) {
  check(packaged(grammar.path), `grammar ${grammar.path} is not in the package`);
}
for (const snippets of contributes.snippets ?? []) {
  check(packaged(snippets.path), `snippets ${snippets.path} are not in the package`);
}
const commands = new Set((contributes.commands ?? []).map((command) => command.command));
for (const command of ["heddle.runWorkflow", "heddle.planWorkflow", "heddle.checkFile", "heddle.restartServer"]) {
  check(commands.has(command), `command ${command} is not contributed`);
}
for (const setting of ["heddle.server.path", "heddle.trace.server", "heddle.inlayHints.enabled"]) {
  check(setting in (contributes.configuration?.properties ?? {}), `setting ${setting} is not contributed`);
}
check(contributes.taskDefinitions?.some((task) => task.type === "heddle"), "task type heddle");
check(contributes.problemMatchers?.some((matcher) => matcher.name === "heddle"), "problem matcher $heddle");

// The bundle inlines its dependencies: at run time it may only require `vscode` and Node's modules.
const bundle = unzip("-p", vsix, "extension/dist/extension.js");
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const required = new Set([...bundle.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((match) => match[1]));
for (const name of required) {
  check(name === "vscode" || builtins.has(name), `the bundle requires ${name}, which is not in the package`);
}
check(required.has("vscode"), "the bundle does not load the vscode API");

if (failures.length > 0) {
  console.error(`${vsix}: ${failures.length} problem(s)\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  process.exit(1);
}
console.log(`${vsix}: ${entries.length} files, ${statSync(vsix).size} bytes, manifest and bundle as expected`);
