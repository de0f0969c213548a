// A plugin: a namespace of resources and steps, the same concepts as Heddle's Python SDK.
//
//   const plugin = new Plugin("score");
//   const Orders = { id: "Int64", amount: "Float64" } as const;
//   plugin.step({ name: "score", input: Orders, output: Scored, config: { factor: { type: "float", default: 2 } } },
//     (orders, { config }) => tableOf(Scored, { ... }));
//   if (isMain(import.meta.url)) plugin.serve();

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Table } from "apache-arrow";
import { configData, type Columns, type ConfigKeys, schemaData, type TableOf } from "./types.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAMESPACE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** What a step function gets besides its input. */
export interface StepContext {
  config: Record<string, unknown>; // the literal config, checked and with defaults
  resources: Record<string, unknown>; // the injected resources, by key (`<vault=...>`)
  resource: unknown; // the one injected resource, when there is exactly one
  parameters: Record<string, unknown>; // `@name` parameter values
  runId: string;
  attempt: number;
}

export type StepResult = Table | null | undefined | void;
export type StepFunction<I extends Columns> = (input: TableOf<I>, context: StepContext) => StepResult | Promise<StepResult>;

export interface StepOptions<I extends Columns, O extends Columns> {
  name: string;
  doc?: string;
  input?: I; // required columns (others may come along); none: not declared
  output?: O; // exactly the columns it returns; none: not declared
  config?: ConfigKeys;
  resource?: string; // one resource, injected with `<name=...>` (a kind of this plugin, or `ns.kind`)
  resources?: Record<string, string | [string, boolean]>; // several: key -> kind (or [kind, required])
  source?: boolean; // takes no input
  passthrough?: boolean; // the output is the input (plus `output`'s columns)
  parameters?: string[]; // `@name` parameters its config refers to
}

export interface ResourceOptions {
  name: string;
  doc?: string;
  config?: ConfigKeys;
}

export type Initializer = (config: Record<string, unknown>) => unknown | Promise<unknown>;

export interface Step {
  options: StepOptions<Columns, Columns>;
  slots: { key: string; kind: string; required: boolean }[];
  run: StepFunction<Columns>;
}

export interface ResourceDeclaration {
  options: ResourceOptions;
  kind: string;
  make: Initializer;
}

/** Raised by a step that failed on some rows: `output` goes on, the rows at `rows` (positions in the input)
 * go to the stage's handler, each with its reason. */
export class RowErrors extends Error {
  override name = "RowErrors";
  readonly reasons: string[];

  constructor(readonly output: Table, readonly rows: number[], reasons: string | string[]) {
    const texts = typeof reasons === "string" ? rows.map(() => reasons) : reasons.map(String);
    if (texts.length !== rows.length) throw new Error(`RowErrors: ${texts.length} reasons for ${rows.length} failed rows`);
    super(`${rows.length} row${rows.length === 1 ? "" : "s"} failed${texts.length > 0 ? `: ${texts[0]}` : ""}`);
    this.reasons = texts;
  }
}

export class Plugin {
  readonly steps = new Map<string, Step>();
  readonly resources = new Map<string, ResourceDeclaration>();

  constructor(readonly namespace: string, readonly doc = "") {
    if (!NAMESPACE.test(namespace)) throw new Error(`a plugin namespace is a name such as \`security\`, not ${JSON.stringify(namespace)}`);
  }

  qualify(kind: string): string {
    return kind.includes(".") ? kind : `${this.namespace}.${kind}`;
  }

  step<I extends Columns, O extends Columns>(options: StepOptions<I, O>, run: StepFunction<I>): this {
    checkName(options.name, "step", this.steps);
    const slots: Step["slots"] = [];
    if (options.resource !== undefined && options.resources !== undefined) throw new Error("give either `resource` or `resources`, not both");
    if (options.resource !== undefined) {
      slots.push({ key: options.resource.split(".").pop() as string, kind: this.qualify(options.resource), required: true });
    }
    for (const [key, value] of Object.entries(options.resources ?? {})) {
      const [kind, required] = typeof value === "string" ? [value, true] : value;
      slots.push({ key, kind: this.qualify(kind), required });
    }
    this.steps.set(options.name, { options: options as StepOptions<Columns, Columns>, slots, run: run as unknown as StepFunction<Columns> });
    return this;
  }

  resource(options: ResourceOptions, make: Initializer): this {
    checkName(options.name, "resource", this.resources);
    this.resources.set(options.name, { options, kind: this.qualify(options.name), make });
    return this;
  }

  /** This plugin as catalog data: what `describe` answers (the module of import path `path`). */
  describe(path: string): Record<string, unknown> {
    for (const step of this.steps.values()) {
      for (const slot of step.slots) {
        const [namespace, name] = splitKind(slot.kind);
        if (namespace === this.namespace && !this.resources.has(name)) {
          throw new Error(`step \`${step.options.name}\` asks for a resource of kind \`${slot.kind}\`, which plugin \`${this.namespace}\` does not declare`);
        }
      }
    }
    return {
      path,
      namespace: this.namespace,
      doc: this.doc,
      location: null,
      import_error: "",
      resources: [...this.resources.values()].map((r) => ({
        name: r.options.name, kind: r.kind, config: configData(r.options.config ?? {}), doc: r.options.doc ?? "", location: null,
      })),
      functions: [...this.steps.values()].map((step) => stepData(step, this)),
    };
  }

  /** Serve this plugin over Arrow Flight until shut down (see `serve`). */
  async serve(options: import("./server.js").ServeOptions = {}): Promise<import("./server.js").RunningWorker> {
    const { serve } = await import("./server.js");
    return serve(this, options);
  }
}

function stepData(step: Step, plugin: Plugin): Record<string, unknown> {
  const options = step.options;
  const takesInput = !options.source;
  const passthrough = Boolean(options.passthrough);
  return {
    name: options.name,
    config: configData(options.config ?? {}),
    resources: step.slots.map((s) => ({ key: s.key, kind: s.kind, required: s.required, doc: docOf(plugin, s.kind) })),
    takes_input: takesInput,
    input: schemaData(options.input ?? {}, true),
    output: options.output !== undefined ? schemaData(options.output, passthrough) : passthrough ? schemaData({}, true) : null,
    passthrough,
    parameters: options.parameters ?? [],
    doc: options.doc ?? "",
    location: null,
    has_infer: false,
    has_parameters_of: false,
  };
}

function docOf(plugin: Plugin, kind: string): string {
  const [namespace, name] = splitKind(kind);
  return namespace === plugin.namespace ? (plugin.resources.get(name)?.options.doc ?? "") : "";
}

function splitKind(kind: string): [string, string] {
  const at = kind.lastIndexOf(".");
  return [kind.slice(0, at), kind.slice(at + 1)];
}

function checkName(name: string, what: string, taken: Map<string, unknown>): void {
  if (!NAME.test(name)) throw new Error(`a ${what} name is a name such as \`query\`, not ${JSON.stringify(name)}`);
  if (taken.has(name)) throw new Error(`this plugin already has a ${what} named \`${name}\``);
}

/** True when the module of `importMetaUrl` is the program node was started with (Python's `__main__`). */
export function isMain(importMetaUrl: string): boolean {
  const started = process.argv[1];
  if (started === undefined) return false;
  try {
    return realpathSync(fileURLToPath(importMetaUrl)) === realpathSync(started);
  } catch {
    return false;
  }
}
