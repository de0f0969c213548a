// End to end in a real VS Code (code-server) with the packaged extension installed, driven through
// headless Chromium. Run by scripts/ci/code-server-e2e.sh, which starts code-server on the workspace.
// Usage: node e2e/code-server.mjs URL WORKSPACE ARTIFACT_DIR
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { chromium } from "playwright-core";

const [url, workspace, artifacts] = process.argv.slice(2);
if (artifacts === undefined) {
  console.error("usage: node e2e/code-server.mjs URL WORKSPACE ARTIFACT_DIR");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SERVER = process.env.HEDDLE_LSP;
if (SERVER === undefined) {
  console.error("HEDDLE_LSP must name the heddle-lsp to install into the workspace's .venv");
  process.exit(2);
}
// A built heddle_lang wheel for the Install flow, and the user data folder, whose global storage holds the
// environment the extension installs it into. pip finds the wheel's dependencies in a local folder
// (PIP_NO_INDEX, PIP_FIND_LINKS, set by scripts/ci/code-server-e2e.sh): nothing is downloaded.
const WHEEL = process.env.HEDDLE_WHEEL;
const USER_DATA = process.env.USER_DATA_DIR;
const PYTHON = process.env.INSTALL_PYTHON; // the heddle.install.python setting
if (WHEEL === undefined || USER_DATA === undefined || PYTHON === undefined) {
  console.error("HEDDLE_WHEEL must name a heddle_lang wheel, USER_DATA_DIR code-server's --user-data-dir and " +
    "INSTALL_PYTHON the heddle.install.python setting");
  process.exit(2);
}

/** Resolves with the first file under `folder` whose text contains `needle` (polling), else undefined. */
async function fileWith(folder, needle) {
  const deadline = Date.now() + LONG;
  for (;;) {
    const files = existsSync(folder) ? readdirSync(folder, { recursive: true }).map((f) => path.join(folder, f)) : [];
    const found = files.find((file) => {
      try {
        return readFileSync(file, "utf8").includes(needle);
      } catch {
        return false; // a folder, or a file gone since
      }
    });
    if (found !== undefined || Date.now() > deadline) {
      return found;
    }
    await page.waitForTimeout(500);
  }
}
const LONG = 90_000; // the first analysis imports Polars and prqlc: allow for a slow, shared machine
const INSTALL = 600_000; // a virtual environment and pip installing the wheel with Polars, Arrow, ...

// An example with one error: `io.prnt` is no function of std/io.
const broken = readFileSync(path.join(workspace, "quickstart.he"), "utf8").replace("| io.print", "| io.prnt");
writeFileSync(path.join(workspace, "broken.he"), broken);
// A pipeline to extend by typing.
const typing = ["import \"std/io\" io", "", "workflow Typing {", "  [", "    { id: 1 },", "  ]", "  > rows", "",
  "  rows", "    | (from input select {id})", "}", ""].join("\n");
writeFileSync(path.join(workspace, "typing.he"), typing);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

async function step(name, action) {
  try {
    await action();
    console.log(`  ok ${name} (${seconds()} s)`);
  } catch (error) {
    await page.screenshot({ path: path.join(artifacts, "failure.png") }).catch(() => undefined);
    console.error(`  FAILED ${name} (${seconds()} s); see ${path.join(artifacts, "failure.png")}`);
    throw error;
  }
}

/** Ctrl+P, the file's name, Enter: the file opens in the active editor. */
async function openFile(name) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(name);
  // The file search answers after a moment: wait for the file's own row and click it (Enter would take
  // whichever row is selected while the list still changes).
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first();
  await row.waitFor({ timeout: LONG });
  await row.click();
  await page.locator(`.tab.active[aria-label*="${name}"]`).waitFor();
}

/** Quick Open's `:line:column` (1-based) in the active editor. */
async function goTo(line, column) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`:${line}:${column}`);
  // Enter before the row for this line is listed goes nowhere: wait for it.
  await page.locator(".quick-input-list .monaco-list-row", { hasText: `line ${line}` }).first().waitFor();
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden" });
}

/** Runs a command from the palette by its title. */
async function runCommand(title) {
  await page.keyboard.press("Control+Shift+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
}

/** Resolves when `file` on disk satisfies `accept`. */
async function fileContent(file, accept) {
  const deadline = Date.now() + LONG;
  for (;;) {
    const text = readFileSync(file, "utf8");
    if (accept(text) || Date.now() > deadline) {
      return text;
    }
    await page.waitForTimeout(200);
  }
}

/** The 1-based line and column of `needle` (plus `shift` characters) in `text`. */
function where(text, needle, shift = 0) {
  const before = text.slice(0, text.indexOf(needle) + shift).split("\n");
  return [before.length, before[before.length - 1].length + 1];
}

try {
  await step("the workbench loads", async () => {
    await page.goto(url);
    await page.locator(".monaco-workbench").waitFor({ timeout: LONG });
  });

  const notice = page.locator(".notification-toast", { hasText: "was not found" });
  const noticeLink = (name) => notice.first().getByRole("link", { name, exact: true });

  await step("without heddle-lsp: a notice that says how to fix it, with its links", async () => {
    await openFile("broken.he");
    await notice.first().waitFor({ timeout: LONG });
    for (const link of ["Install", "Open Settings", "Installation Help"]) {
      await noticeLink(link).waitFor();
    }
    console.log(`     ${(await notice.first().locator(".notification-list-item-message").textContent())?.trim()}`);
    await page.screenshot({ path: path.join(artifacts, "missing-server.png") });
  });

  const venv = path.join(workspace, ".venv");
  await step("heddle-lsp installed into .venv: the server starts by itself, and the notice goes away", async () => {
    // As `pip install` of Heddle into the workspace's .venv would leave it.
    const bin = path.join(venv, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(path.join(path.dirname(SERVER), "heddle"), path.join(bin, "heddle"));
    symlinkSync(SERVER, path.join(bin, "heddle-lsp"));
    await notice.first().waitFor({ state: "detached", timeout: LONG });
  });

  await step("without .venv again, after a restart: the notice is back", async () => {
    rmSync(venv, { recursive: true, force: true });
    await runCommand("Heddle: Restart Language Server");
    await noticeLink("Install").waitFor({ timeout: LONG });
  });

  const ownServer = path.join(USER_DATA, "User", "globalStorage", "heddle.heddle", "server-env", "bin", "heddle-lsp");
  await step("Install: a wheel into the extension's own environment, offline; the server starts, the notice goes", async () => {
    await noticeLink("Install").click();
    const input = page.locator(".quick-input-widget input");
    await page.locator(".quick-input-list .monaco-list-row", { hasText: "A wheel or a folder" }).first().click();
    await input.fill("/nowhere/heddle_lang.whl");
    await page.locator(".quick-input-widget", { hasText: "there is no file or folder at this path" }).waitFor();
    await input.fill(WHEEL);
    await page.keyboard.press("Enter");
    await page.locator(".notification-toast", { hasText: "installing the language server" }).first().waitFor();
    await page.screenshot({ path: path.join(artifacts, "installing.png") });
    await page.locator(".notification-toast", { hasText: "installing the language server" }).first()
      .waitFor({ state: "detached", timeout: INSTALL });
    await notice.first().waitFor({ state: "detached", timeout: LONG });
    assert.ok(existsSync(ownServer), `no heddle-lsp at ${ownServer}`);
    // The Heddle output channel's log says which Python made the environment: the setting's.
    const log = await fileWith(path.join(USER_DATA, "logs"), `$ ${PYTHON} -m venv `);
    assert.ok(log !== undefined, `no log says the environment was made with ${PYTHON}`);
    const failed = page.locator(".notification-toast", { hasText: "installing the language server failed" });
    assert.equal(await failed.count(), 0, "the installation reported a failure");
  });

  await step("broken.he: one error in the Problems count", async () => {
    const problems = page.locator('[id="status.problems"]');
    await page.waitForFunction(() => {
      const label = document.querySelector('[id="status.problems"]')?.getAttribute("aria-label") ?? "";
      return /Errors?: 1\b/i.test(label);
    }, undefined, { timeout: LONG });
    console.log(`     status bar: ${(await problems.getAttribute("aria-label")) ?? ""}`);
  });

  await step("the code lens of the workflow", async () => {
    const lens = page.locator(".codelens-decoration", { hasText: "Run" });
    await lens.first().waitFor({ timeout: LONG });
    assert.match(await lens.first().textContent() ?? "", /Plan/);
  });

  await step("F8: the error's squiggle and message", async () => {
    // F8 goes to the error: the editor scrolls there (so the squiggle is drawn) and shows the message.
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("F8");
    await page.locator(".monaco-editor .squiggly-error").first().waitFor({ timeout: LONG });
    const message = page.locator(".marker-widget", { hasText: "prnt" });
    await message.first().waitFor({ timeout: LONG });
    console.log(`     message: ${(await message.first().locator(".descriptioncontainer").textContent())?.trim()}`);
    await page.screenshot({ path: path.join(artifacts, "diagnostics.png") });
    await page.keyboard.press("Escape");
  });

  await step("completion inside `<` offers the function's resource keys", async () => {
    await openFile("fraud_detection.he");
    const text = readFileSync(path.join(workspace, "seeds", "fraud_detection.he"), "utf8");
    const [line, column] = where(text, "<connection=pg_db> pg.query", 1);
    await goTo(line, column);
    await page.keyboard.press("Control+Space");
    const suggestion = page.locator(".suggest-widget.visible .monaco-list-row", { hasText: "connection" });
    await suggestion.first().waitFor({ timeout: LONG });
    await page.screenshot({ path: path.join(artifacts, "completion.png") });
    await page.keyboard.press("Escape");
  });

  await step("the plan of the workflow, drawn in a webview", async () => {
    await openFile("quickstart.he");
    await runCommand("Heddle: Show Workflow Plan");
    const deadline = Date.now() + LONG;
    let nodes = 0;
    while (nodes === 0 && Date.now() < deadline) {
      for (const frame of page.frames()) {
        nodes += await frame.locator("#graph svg g.node").count().catch(() => 0);
      }
      if (nodes === 0) {
        await page.waitForTimeout(500);
      }
    }
    assert.ok(nodes >= 4, `nodes drawn: ${nodes}`);
    console.log(`     plan nodes drawn: ${nodes}`);
    await page.screenshot({ path: path.join(artifacts, "plan.png") });
  });

  await step("the plan of a file that does not check: its errors instead of a picture", async () => {
    await openFile("broken.he");
    await runCommand("Heddle: Show Workflow Plan");
    const deadline = Date.now() + LONG;
    let shown = "";
    while (!shown.includes("prnt") && Date.now() < deadline) {
      for (const frame of page.frames()) {
        shown += await frame.locator("#error:not([hidden])").textContent({ timeout: 1_000 }).catch(() => "");
      }
      await page.waitForTimeout(300);
    }
    assert.match(shown, /broken\.he:\d+:\d+: error: .*prnt/);
  });

  await step("Enter after a stage starts the next `| `; after `| (` the PRQL is indented, `)` aligns", async () => {
    await openFile("typing.he");
    await goTo(10, 1);
    await page.keyboard.press("End");
    // Typed as a person would (the profile has suggestions only on request, so Enter is always a newline).
    for (const keys of ["Enter", "io.print", "Enter", "(", "Enter", "from input", "Enter", ")"]) {
      if (keys === "Enter") {
        await page.keyboard.press(keys);
      } else {
        await page.keyboard.type(keys, { delay: 50 });
      }
      await page.waitForTimeout(150);
    }
    await page.keyboard.press("Control+S");
    // `)` typed on its own line aligns with the line of its `(` (VS Code's own rule for closing brackets).
    const expected = "    | (from input select {id})\n    | io.print\n    | (\n        from input\n    )\n}\n";
    const text = await fileContent(path.join(workspace, "typing.he"), (t) => t.includes("from input\n    )\n"));
    assert.ok(text.endsWith(expected), `typing.he ends with:\n${text.slice(-120)}`);
  });

  await step("Run (code lens): `heddle run` as a task, or the server runs it without it", async () => {
    await openFile("quickstart.he");
    await page.locator(".codelens-decoration a", { hasText: "Run" }).first().click();
    const cli = path.join(path.dirname(ownServer), "heddle"); // the installed wheel's
    if (spawnSync(cli, ["run", "--help"]).status === 0) {
      const output = page.locator(".terminal-wrapper .xterm-rows", { hasText: "succeeded" });
      await output.first().waitFor({ timeout: LONG });
      console.log(`     terminal: ${(await output.first().textContent())?.match(/heddle: run \S+ succeeded[^│]*/)?.[0] ?? "succeeded"}`);
    } else {
      await page.locator(".notification-toast", { hasText: "succeeded" }).first().waitFor({ timeout: LONG });
    }
    await page.screenshot({ path: path.join(artifacts, "run.png") });
  });

  await step("Check File: `heddle check` as a task, its error in Problems through $heddle", async () => {
    await openFile("broken.he");
    await runCommand("Heddle: Check File");
    // The server's error and the task's: two.
    await page.waitForFunction(() => {
      const label = document.querySelector('[id="status.problems"]')?.getAttribute("aria-label") ?? "";
      return /Errors?: 2\b/i.test(label);
    }, undefined, { timeout: LONG });
  });
} finally {
  await browser.close();
}
console.log(`code-server e2e: all checks passed in ${seconds()} s`);
