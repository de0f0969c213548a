// The plan webview: lays out and draws the plan `heddle plan --format json` printed, with Graphviz
// compiled to WebAssembly.
import { instance, type Viz } from "@viz-js/viz";

import { type Plan, planToDot } from "./dot";

type PlanMessage =
  | { readonly kind: "plan"; readonly title: string; readonly plan: Plan }
  | { readonly kind: "error"; readonly title: string; readonly message: string };

interface VsCodeApi {
  postMessage(message: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const graph = element("graph");
const error = element("error");
const title = element("title");
const status = element("status");
const fit = element("fit");
let viz: Promise<Viz> | undefined;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`the plan page has no #${id}`);
  }
  return found;
}

/** The editor theme's colour, so the picture reads in light and dark themes alike. */
function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

async function draw(message: PlanMessage): Promise<void> {
  title.textContent = message.title;
  if (message.kind === "error") {
    graph.replaceChildren();
    error.textContent = message.message;
    error.hidden = false;
    status.textContent = "No plan";
    return;
  }
  viz ??= instance();
  const dot = planToDot(message.plan, {
    foreground: themeColor("--vscode-editor-foreground", "#333333"),
    muted: themeColor("--vscode-descriptionForeground", "#777777"),
    accent: themeColor("--vscode-textLink-foreground", "#3794ff"),
  });
  const svg = (await viz).renderSVGElement(dot);
  graph.replaceChildren(svg);
  error.hidden = true;
  const nodes = svg.querySelectorAll("g.node").length;
  status.textContent = `${nodes} node${nodes === 1 ? "" : "s"}`;
}

fit.addEventListener("click", () => {
  const fitted = graph.classList.toggle("fit");
  fit.textContent = fitted ? "Actual size" : "Fit";
});

window.addEventListener("message", (event: MessageEvent<PlanMessage>) => {
  draw(event.data).catch((failure: unknown) => {
    error.textContent = `Could not draw the plan: ${String(failure)}`;
    error.hidden = false;
  });
});
vscode.postMessage({ kind: "ready" });
