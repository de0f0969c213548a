// What the engine and a worker agree on (see docs/protocol.md in the Heddle repository): the step request a
// DoExchange's descriptor carries, the actions, and structured errors.

import { tableFromIPC } from "apache-arrow";

export const PROTOCOL_VERSION = 1;

export const ACTIONS: Record<string, string> = {
  describe: "the specs of the modules this worker serves, as catalog data",
  health: "liveness: protocol version, language, pid, the modules served",
  load: "JIT: import the shipped source of plugin modules (not served by this worker)",
  release: "the end of a run: close its resources",
  infer: "run a step's inference hook (not offered by this SDK)",
  parameters: "the @name parameters a step's config refers to",
  share: "same host: check that the worker sees the engine's exchange folder (tables then go as files)",
  shutdown: "stop serving",
};

export const ENV_ADDRESS = "HEDDLE_WORKER_ADDRESS";
export const ENV_TOKEN = "HEDDLE_WORKER_TOKEN";
export const ENV_TLS_CERT = "HEDDLE_WORKER_TLS_CERT";
export const ENV_TLS_KEY = "HEDDLE_WORKER_TLS_KEY";
export const ENV_PARENT = "HEDDLE_WORKER_PARENT";
export const EXTRA_INFO_LIMIT = 12_000;

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export interface ResourceRequest {
  key: string;
  name: string;
  module: string;
  constructor: string;
  config: Record<string, unknown>;
}

export interface StepRequest {
  module: string;
  step: string;
  config: Record<string, unknown>;
  resources: ResourceRequest[];
  parameters: Record<string, unknown>;
  runId: string;
  attempt: number;
  version: string;
  takesInput: boolean;
  inputFile: string; // same host: the input rows are this Arrow IPC file, not the stream
  outputFile: string; // same host: where the output rows may be written as an Arrow IPC file
}

export function parseStepRequest(raw: Uint8Array | undefined): StepRequest {
  const data = jsonObject(raw, "the step request");
  const step = data.step;
  if (typeof step !== "string" || step === "") throw new ProtocolError(`\`step\` must be a non-empty string, not ${JSON.stringify(step)}`);
  const config = data.config ?? {};
  if (typeof config !== "object" || Array.isArray(config) || config === null) throw new ProtocolError("`config` must be a JSON object");
  const resources = data.resources ?? [];
  if (!Array.isArray(resources)) throw new ProtocolError("`resources` must be a list");
  const attempt = data.attempt ?? 1;
  if (typeof attempt !== "number" || !Number.isInteger(attempt) || attempt < 1) throw new ProtocolError(`\`attempt\` must be a positive integer, not ${JSON.stringify(attempt)}`);
  return {
    module: String(data.module ?? ""),
    step,
    config: config as Record<string, unknown>,
    resources: resources.map((r: unknown) => resourceRequest(r)),
    parameters: parameters(data.parameters),
    runId: String(data.run_id ?? ""),
    attempt,
    version: String(data.version ?? ""),
    takesInput: data.takes_input !== false,
    inputFile: optionalText(data, "input_file"),
    outputFile: optionalText(data, "output_file"),
  };
}

function optionalText(data: Record<string, unknown>, key: string): string {
  const value = data[key] ?? "";
  if (typeof value !== "string") throw new ProtocolError(`\`${key}\` must be a string, not ${JSON.stringify(value)}`);
  return value;
}

function resourceRequest(value: unknown): ResourceRequest {
  if (typeof value !== "object" || value === null) throw new ProtocolError("each resource is a JSON object");
  const data = value as Record<string, unknown>;
  for (const key of ["key", "name", "module", "constructor"]) {
    if (typeof data[key] !== "string" || data[key] === "") throw new ProtocolError(`a resource's \`${key}\` must be a non-empty string`);
  }
  const config = data.config ?? {};
  if (typeof config !== "object" || Array.isArray(config)) throw new ProtocolError("a resource's `config` must be a JSON object");
  return { key: String(data.key), name: String(data.name), module: String(data.module), constructor: String(data.constructor), config: config as Record<string, unknown> };
}

function parameters(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === "") return {};
  if (typeof value !== "string") throw new ProtocolError("`parameters` is a base64 Arrow IPC stream");
  try {
    const table = tableFromIPC(Buffer.from(value, "base64"));
    const row = table.get(0);
    return row === null ? {} : (row.toJSON() as Record<string, unknown>);
  } catch (error) {
    throw new ProtocolError(`the parameters are not a readable Arrow IPC stream: ${String(error)}`);
  }
}

export function jsonObject(raw: Uint8Array | undefined, what: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(raw ?? new Uint8Array()).toString("utf-8") || "{}");
  } catch (error) {
    throw new ProtocolError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new ProtocolError(`${what} must be a JSON object`);
  return data as Record<string, unknown>;
}

export interface Failure {
  kind: "step" | "rows" | "request" | "unauthenticated";
  type: string;
  message: string;
  stackTrace?: string;
}

/** A structured error as the extra info of a Flight error (kept below gRPC's trailer limit). */
export function failureBytes(failure: Failure): Buffer {
  const budget = Math.floor(EXTRA_INFO_LIMIT / 2) - 200;
  const message = failure.message.length <= budget ? failure.message : `${failure.message.slice(0, budget)} …`;
  const trace = failure.stackTrace ?? "";
  const stack = trace.length <= budget ? trace : `… ${trace.slice(-budget)}`;
  return Buffer.from(JSON.stringify({ heddle: PROTOCOL_VERSION, kind: failure.kind, type: failure.type, message, stack_trace: stack }));
}

export interface Address {
  scheme: "grpc" | "grpc+tcp" | "grpc+tls";
  host: string;
  port: number;
}

export function parseAddress(text: string): Address {
  const written = text.includes("://") ? text.trim() : `grpc://${text.trim()}`;
  const found = /^(grpc|grpc\+tcp|grpc\+tls):\/\/(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(written);
  if (found === null || Number(found[3]) > 65535) throw new Error(`\`${text}\` is not a worker address such as grpc://127.0.0.1:8815`);
  return { scheme: found[1] as Address["scheme"], host: found[2], port: Number(found[3]) };
}

export function formatAddress(address: Address): string {
  return `${address.scheme}://${address.host}:${address.port}`;
}
