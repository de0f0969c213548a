// Bundles the extension (Node, `vscode` external), the plan webview (browser, Graphviz inlined) and,
// for the unit tests, the modules that do not import `vscode`.
import { copyFile, mkdir, rm } from "node:fs/promises";
import * as esbuild from "esbuild";

const production = !process.argv.includes("--dev");
const watch = process.argv.includes("--watch");

const builds = [
  {
    entryPoints: ["src/extension.ts"],
    outfile: "dist/extension.js",
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["vscode"],
  },
  {
    entryPoints: ["webview/plan.ts"],
    outfile: "dist/webview/plan.js",
    platform: "browser",
    format: "iife",
    target: "es2022",
  },
  {
    entryPoints: ["src/locate.ts", "src/installing.ts", "src/workflows.ts", "webview/dot.ts"],
    outdir: "out/unit",
    outbase: ".",
    platform: "node",
    format: "cjs",
    target: "node18",
  },
];

await rm("out/unit", { recursive: true, force: true });
await mkdir("dist/webview", { recursive: true });
await copyFile("webview/plan.css", "dist/webview/plan.css");
const contexts = await Promise.all(builds.map((options) => esbuild.context({
  bundle: true,
  minify: production,
  sourcemap: !production,
  logLevel: "warning",
  ...options,
})));
if (watch) {
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(contexts.map((context) => context.rebuild()));
  await Promise.all(contexts.map((context) => context.dispose()));
}
