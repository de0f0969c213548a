// The plan picture: `heddle plan --format json` of the examples, turned into DOT by webview/dot.ts and
// laid out by the same Graphviz (WebAssembly) the webview bundles.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";

import { instance } from "@viz-js/viz";

import { cliPath, repository } from "./lib/server.mjs";

const require = createRequire(import.meta.url);
const { planToDot } = require("../out/unit/webview/dot.js");

const examples = path.join(repository, "examples");
const colors = { foreground: "#333333", muted: "#777777", accent: "#3794ff" };

function plan(file, workflow) {
  const cli = cliPath();
  const args = ["plan", file, "--format", "json", ...(workflow ? ["--workflow", workflow] : [])];
  const result = spawnSync(cli, args, { cwd: examples, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test("every example's plan lays out without a Graphviz error, each node and capture drawn", async () => {
  const viz = await instance();
  for (const file of ["quickstart.he", "csv_report.he", "error_handling.he", "seeds/fraud_detection.he"]) {
    const json = plan(file);
    const result = viz.render(planToDot(json, colors), { format: "svg" });
    assert.equal(result.status, "success", `${file}: ${JSON.stringify(result.errors)}`);
    assert.deepEqual(result.errors.filter((e) => e.level === "error"), [], file);
    // Graphviz writes some characters as numeric entities (`-` as `&#45;`).
    const svg = result.output.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
    for (const graph of json.graphs) {
      assert.ok(svg.includes(`${graph.kind} ${graph.name}`), `${file}: cluster of ${graph.name}`);
      for (const node of graph.nodes) {
        const label = node.label.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
        assert.ok(svg.includes(label), `${file}: node ${node.label}`);
      }
      for (const name of Object.keys(graph.assignments ?? {})) {
        assert.ok(svg.includes(`&gt; ${name}`), `${file}: capture ${name}`);
      }
    }
  }
});

test("labels are escaped, long schemas shortened, open schemas said so", () => {
  const columns = Array.from({ length: 15 }, (_, i) => ({ name: `c${i}`, type: i === 0 ? null : "Int64" }));
  const dot = planToDot({
    graphs: [{
      name: "W", kind: "workflow", handler: "h", assignments: { out: "n1" },
      nodes: [{ id: "n1", kind: "relational", label: '(from input filter a < 1 && b > "x")', line: 3, inputs: [],
        handler: "h2", output: { columns, open: true } }],
    }],
  }, colors);
  assert.match(dot, /\(from input filter a &lt; 1 &amp;&amp; b &gt; &quot;x&quot;\)/);
  assert.match(dot, /label="workflow W \? h"/);
  assert.match(dot, /PRQL · line 3 · \? h2/);
  assert.match(dot, /&gt; out/);
  assert.match(dot, /c0: \?/);
  assert.match(dot, /c11: Int64/);
  assert.doesNotMatch(dot, /c12: Int64/);
  assert.match(dot, /… 3 more/);
  assert.match(dot, /known when it runs/);
});

test("the workflow comes before its handlers, whatever the plan's order", () => {
  const graph = (name, kind) => ({ name, kind, nodes: [{ id: "n1", kind: "call", label: `${name}.f`, inputs: [] }] });
  const dot = planToDot({ graphs: [graph("h", "handler"), graph("W", "workflow"), graph("g", "handler")] }, colors);
  const order = [...dot.matchAll(/label="(workflow|handler) (\w+)"/g)].map((m) => m[2]);
  assert.deepEqual(order, ["W", "h", "g"]);
});
