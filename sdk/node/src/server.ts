// The Node worker: Heddle's worker protocol on Arrow Flight, served with @grpc/grpc-js.
//
// A step call is a DoExchange: the descriptor carries the step request (JSON), the input arrives as Arrow
// record batches, the output leaves as record batches. A step that fails on some rows sends its good rows,
// then a metadata message with the failed rows' positions and reasons, then a structured error; a step
// that throws is a structured error with its class, message and stack. Every call is independent: a
// malformed request is an error answer, and the worker keeps serving. A worker on the engine's machine may
// take and give the tables as Arrow IPC files instead (`shared.ts`).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Table } from "apache-arrow";
import { decodeFlightData, encodeFlightData, encodeFlightDataTransient } from "./flightdata.js";
import { flightMessages, type FlightData, IpcCollector } from "./ipc.js";
import { type Plugin, RowErrors, type Step, type StepContext } from "./plugin.js";
import {
  ACTIONS,
  type Address,
  ENV_ADDRESS,
  ENV_PARENT,
  ENV_TLS_CERT,
  ENV_TLS_KEY,
  ENV_TOKEN,
  type Failure,
  failureBytes,
  formatAddress,
  jsonObject,
  parseAddress,
  parseStepRequest,
  PROTOCOL_VERSION,
  ProtocolError,
  type StepRequest,
} from "./protocol.js";
import { byteSize, readTable, SHARE_ACTION, SHARED_FILE_ERROR, SHARED_MIN_BYTES, SharedFileError, SharedFolders, unchangedColumns, withoutColumns, writeTable } from "./shared.js";
import { checkedConfig } from "./types.js";

const PROTO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "proto", "flight.proto");

export interface ServeOptions {
  address?: string; // default: --address, HEDDLE_WORKER_ADDRESS, else grpc://127.0.0.1 on a free port
  token?: string; // default: HEDDLE_WORKER_TOKEN (every call must carry `authorization: Bearer <token>`)
  tls?: { cert: Buffer; key: Buffer }; // default: --tls-cert/--tls-key or HEDDLE_WORKER_TLS_CERT/_KEY
  path?: string; // the import path `describe` names the module by when the engine does not say
  quiet?: boolean; // do not print the listening line
  argv?: string[]; // default: process.argv.slice(2)
}

export interface RunningWorker {
  address: string;
  port: number;
  close(): Promise<void>;
}

type ServerCall = grpc.ServerDuplexStream<FlightData, FlightData>;

let serviceDefinition: grpc.ServiceDefinition | undefined;

/** The FlightService definition this SDK serves (loaded once from proto/flight.proto; DoExchange's FlightData
 * is encoded and decoded by `flightdata.ts`, which copies no body). */
export function flightService(): grpc.ServiceDefinition {
  if (serviceDefinition === undefined) {
    const loaded = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
    const root = grpc.loadPackageDefinition(loaded) as unknown as {
      arrow: { flight: { protocol: { FlightService: grpc.ServiceClientConstructor } } };
    };
    const service = root.arrow.flight.protocol.FlightService.service;
    serviceDefinition = {
      ...service,
      DoExchange: {
        ...service.DoExchange,
        requestSerialize: encodeFlightData,
        requestDeserialize: decodeFlightData,
        responseSerialize: encodeFlightDataTransient,
        responseDeserialize: decodeFlightData,
      },
    };
  }
  return serviceDefinition;
}

/** A gRPC client of the same service (for tests and tools). */
export function flightClient(address: string, credentials = grpc.credentials.createInsecure()): grpc.Client & Record<string, Function> {
  const Client = grpc.makeGenericClientConstructor(flightService(), "FlightService");
  const { host, port } = parseAddress(address);
  return new Client(`${host}:${port}`, credentials, limits()) as grpc.Client & Record<string, Function>;
}

export async function serve(plugin: Plugin, options: ServeOptions = {}): Promise<RunningWorker> {
  const args = parseArgs(options.argv ?? process.argv.slice(2));
  const address = parseAddress(options.address ?? args.address ?? process.env[ENV_ADDRESS] ?? "grpc://127.0.0.1:0");
  const certFile = args.tlsCert ?? process.env[ENV_TLS_CERT];
  const keyFile = args.tlsKey ?? process.env[ENV_TLS_KEY];
  const tls = options.tls ?? (certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined);
  if (address.scheme === "grpc+tls" && tls === undefined) throw new Error(`${formatAddress(address)} asks for TLS: give --tls-cert and --tls-key`);
  const token = options.token ?? (process.env[ENV_TOKEN] || undefined);
  if (!isLoopback(address.host) && token === undefined) {
    process.stderr.write(`heddle worker: warning: listening on ${address.host} without a token: anyone who reaches this address can run its steps (set ${ENV_TOKEN})\n`);
  }
  const worker = new Worker(plugin, token, options.path ?? plugin.namespace);
  const server = new grpc.Server(limits());
  widenWindows(server);
  server.addService(flightService(), worker.handlers(() => void shutdown()));
  const credentials = tls !== undefined
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address.host}:${address.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  widenSessions(server);
  const listening: Address = { scheme: tls !== undefined ? "grpc+tls" : address.scheme, host: address.host, port };
  const text = formatAddress(listening);
  let stopped = false;
  const shutdown = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(watch);
    await worker.releaseAll();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  };
  const parent = Number(process.env[ENV_PARENT]);
  const watch = setInterval(() => {
    if (Number.isInteger(parent) && parent > 0 && process.ppid !== parent) void shutdown();
  }, 1000);
  watch.unref();
  if (!options.quiet) process.stdout.write(`heddle worker listening on ${text} (plugin ${plugin.namespace})\n`);
  return { address: text, port, close: shutdown };
}

class Worker {
  private readonly made = new Map<string, Map<string, unknown>>();
  private readonly shared = new SharedFolders(); // same-host engines' exchange folders

  constructor(readonly plugin: Plugin, readonly token: string | undefined, readonly path: string) {}

  handlers(shutdown: () => void): grpc.UntypedServiceImplementation {
    return {
      DoExchange: (call: ServerCall) => {
        if (!this.authorized(call)) return void refuse(call);
        void this.exchange(call);
      },
      DoAction: (call: grpc.ServerWritableStream<{ type: string; body: Uint8Array }, { body: Buffer }>) => {
        if (!this.authorized(call)) return void refuse(call);
        void this.action(call, shutdown);
      },
      ListActions: (call: grpc.ServerWritableStream<unknown, { type: string; description: string }>) => {
        if (!this.authorized(call)) return void refuse(call);
        for (const [type, description] of Object.entries(ACTIONS)) call.write({ type, description });
        call.end();
      },
    };
  }

  private authorized(call: { metadata: grpc.Metadata }): boolean {
    if (this.token === undefined) return true;
    const given = call.metadata.get("authorization")[0];
    return typeof given === "string" && timingSafeEqual(given, `Bearer ${this.token}`);
  }

  // --- data ---------------------------------------------------------------------------------------

  private async exchange(call: ServerCall): Promise<void> {
    const collector = new IpcCollector();
    let descriptor: Uint8Array | undefined;
    let descriptorType: string | number | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        call.on("data", (message: FlightData) => {
          if (message.flight_descriptor && descriptor === undefined) {
            descriptor = message.flight_descriptor.cmd;
            descriptorType = message.flight_descriptor.type;
          }
          collector.add(message);
        });
        call.on("end", resolve);
        call.on("error", reject);
        call.on("close", () => reject(new Error("closed"))); // ended by gRPC (a message that is not FlightData)
      });
    } catch {
      return; // the engine went away
    }
    let request: StepRequest;
    let step: Step;
    try {
      if (descriptorType !== "CMD" && descriptorType !== 2) throw new ProtocolError("a step call's descriptor is a command (CMD)");
      request = parseStepRequest(descriptor);
      const found = this.plugin.steps.get(request.step);
      if (found === undefined) throw new ProtocolError(`module \`${request.module || this.path}\` has no step \`${request.step}\``);
      step = found;
    } catch (error) {
      return fail(call, { kind: "request", type: (error as Error).name, message: (error as Error).message });
    }
    let given: Table;
    try {
      given = request.inputFile ? await readTable(this.shared.path(request.inputFile)) : (collector.table() ?? new Table());
      if (request.outputFile) this.shared.path(request.outputFile); // refused before the step runs, not after
    } catch (error) {
      const type = error instanceof SharedFileError ? SHARED_FILE_ERROR : "ProtocolError";
      return fail(call, { kind: "request", type, message: `the input rows cannot be read: ${(error as Error).message}` });
    }
    let context: StepContext;
    try {
      const config = checkedConfig(step.options.config ?? {}, request.config);
      const resources = await this.resources(request);
      const values = Object.values(resources);
      context = { config, resources, resource: values.length === 1 ? values[0] : undefined, parameters: request.parameters, runId: request.runId, attempt: request.attempt };
    } catch (error) {
      const refused = error instanceof TypeError || error instanceof ProtocolError;
      return fail(call, { kind: refused ? "request" : "step", type: (error as Error).name, message: (error as Error).message, stackTrace: (error as Error).stack });
    }
    let returned;
    try {
      returned = await step.run(given as never, context);
    } catch (error) {
      if (error instanceof RowErrors) return this.partlyFailed(call, error, given);
      const thrown = error instanceof Error ? error : new Error(String(error));
      return fail(call, { kind: "step", type: thrown.name, message: thrown.message, stackTrace: thrown.stack });
    }
    if (returned === undefined || returned === null) {
      await send(call, flightMessages(new Table(given.schema)));
      await write(call, { app_metadata: Buffer.from(JSON.stringify({ returned: "none" })) });
      call.end();
      return;
    }
    if (!(returned instanceof Table)) {
      return fail(call, { kind: "step", type: "NotATableError", message: `\`${request.step}\` returned ${typeof returned}, not an apache-arrow Table` });
    }
    if (request.outputFile && byteSize(returned) >= SHARED_MIN_BYTES) return this.answerWithFile(call, request, returned, given);
    await send(call, flightMessages(returned));
    call.end();
  }

  /** The output in the file the request named (without the input columns it returns unchanged), its schema
   * and where it is on the stream. */
  private async answerWithFile(call: ServerCall, request: StepRequest, output: Table, given: Table): Promise<void> {
    const unchanged = request.takesInput ? unchangedColumns(output, given) : new Map<number, number>();
    try {
      writeTable(this.shared.path(request.outputFile), withoutColumns(output, unchanged));
    } catch (error) {
      const type = error instanceof SharedFileError ? SHARED_FILE_ERROR : "ProtocolError";
      return fail(call, { kind: "request", type, message: `the output rows cannot be written: ${(error as Error).message}` });
    }
    await send(call, flightMessages(new Table(output.schema)));
    const metadata = { output_file: request.outputFile, rows: output.numRows, input_columns: Object.fromEntries(unchanged) };
    await write(call, { app_metadata: Buffer.from(JSON.stringify(metadata)) });
    call.end();
  }

  private async partlyFailed(call: ServerCall, error: RowErrors, given: Table): Promise<void> {
    const rows = error.rows;
    if (rows.some((r) => !Number.isInteger(r) || r < 0 || r >= given.numRows)) {
      return fail(call, { kind: "step", type: "FailedRowsError", message: `RowErrors names rows that are not input rows (the input has ${given.numRows})` });
    }
    await send(call, flightMessages(error.output));
    await write(call, { app_metadata: Buffer.from(JSON.stringify({ failed_rows: rows, reasons: error.reasons })) });
    fail(call, { kind: "rows", type: "RowErrors", message: error.message, stackTrace: error.stack });
  }

  private async resources(request: StepRequest): Promise<Record<string, unknown>> {
    const found: Record<string, unknown> = {};
    for (const use of request.resources) {
      const declaration = this.plugin.resources.get(use.constructor);
      if (declaration === undefined || (use.module !== request.module && request.module !== "")) {
        throw new ProtocolError(`this worker serves the plugin \`${this.plugin.namespace}\`; it cannot make the resource \`${use.constructor}\` of \`${use.module}\``);
      }
      let run = this.made.get(request.runId);
      if (run === undefined) this.made.set(request.runId, (run = new Map()));
      if (!run.has(use.name)) run.set(use.name, Promise.resolve(declaration.make(checkedConfig(declaration.options.config ?? {}, use.config))));
      try {
        found[use.key] = await run.get(use.name);
      } catch (error) {
        run.delete(use.name); // a failed initialisation is not kept: a retry tries again
        throw error;
      }
    }
    return found;
  }

  async release(runId: string): Promise<string[]> {
    const run = this.made.get(runId);
    this.made.delete(runId);
    const problems: string[] = [];
    for (const [name, pending] of [...(run ?? new Map()).entries()].reverse()) {
      try {
        const value = (await pending) as { close?: () => unknown };
        if (value && typeof value.close === "function") await value.close();
      } catch (error) {
        problems.push(`resource \`${name}\` did not close: ${String(error)}`);
      }
    }
    return problems;
  }

  async releaseAll(): Promise<void> {
    for (const runId of [...this.made.keys()]) await this.release(runId);
  }

  // --- control ------------------------------------------------------------------------------------

  private async action(call: grpc.ServerWritableStream<{ type: string; body: Uint8Array }, { body: Buffer }>, shutdown: () => void): Promise<void> {
    let answer: unknown;
    try {
      const body = jsonObject(call.request.body, "an action's body");
      answer = await this.answer(call.request.type, body, shutdown);
    } catch (error) {
      return fail(call, { kind: "request", type: (error as Error).name, message: (error as Error).message });
    }
    call.write({ body: Buffer.from(JSON.stringify(answer)) });
    call.end();
  }

  private async answer(type: string, body: Record<string, unknown>, shutdown: () => void): Promise<unknown> {
    switch (type) {
      case "health":
        return { status: "ok", protocol: PROTOCOL_VERSION, language: "node", pid: process.pid, modules: [this.path] };
      case "describe": {
        const path = typeof body.path === "string" && body.path ? body.path : this.path;
        try {
          return { protocol: PROTOCOL_VERSION, modules: [{ path, module: this.plugin.describe(path) }] };
        } catch (error) {
          return { protocol: PROTOCOL_VERSION, modules: [{ path, error: `${(error as Error).name}: ${(error as Error).message}` }] };
        }
      }
      case "release":
        return { problems: await this.release(String(body.run_id ?? "")) };
      case "parameters": {
        const step = this.plugin.steps.get(String(body.function));
        if (step === undefined) throw new ProtocolError(`no step \`${String(body.function)}\``);
        return { parameters: step.options.parameters ?? [] };
      }
      case SHARE_ACTION:
        try {
          return { probe: this.shared.accept(String(body.directory ?? ""), String(body.probe ?? "")) };
        } catch (error) {
          throw new ProtocolError((error as Error).message);
        }
      case "shutdown":
        setImmediate(shutdown);
        return { status: "stopping" };
      case "load":
        throw new ProtocolError("this worker serves one plugin; it takes no shipped sources (JIT)");
      default:
        throw new ProtocolError(`unknown action \`${type}\` (actions: ${Object.keys(ACTIONS).join(", ")})`);
    }
  }
}

// --- helpers ----------------------------------------------------------------------------------------

function fail(call: { emit: (event: string, value: unknown) => boolean }, failure: Failure): void {
  const details = `${failure.type}: ${failure.message}`;
  call.emit("error", { code: grpc.status.UNKNOWN, details, metadata: errorTrailers(failure, details) });
}

function refuse(call: { emit: (event: string, value: unknown) => boolean }): void {
  const failure: Failure = { kind: "unauthenticated", type: "Unauthenticated", message: "missing or wrong token" };
  call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "this worker needs a token", metadata: errorTrailers(failure, "this worker needs a token") });
}

/** The structured error travels in `grpc-status-details-bin`; Flight's C++ clients (pyarrow) read it only when
 * the Arrow status headers come with it (`x-arrow-status`: an Arrow status code, 5 = IOError). */
function errorTrailers(failure: Failure, message: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("x-arrow-status", "5");
  metadata.set("x-arrow-status-message-bin", Buffer.from(message));
  metadata.set("grpc-status-details-bin", failureBytes(failure));
  return metadata;
}

async function send(call: ServerCall, messages: Iterable<FlightData>): Promise<void> {
  for (const message of messages) await write(call, message);
}

function write(call: ServerCall, message: FlightData): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(message)) resolve();
    else call.once("drain", () => resolve());
  });
}

/** HTTP/2 flow control window of a worker's connections and streams (bytes a peer may send unanswered).
 * HTTP/2's default, 64 KiB, has an engine sending megabyte record batches wait for a window update every
 * 64 KiB; grpc-js takes no option for it on a server, so it is set on the HTTP/2 server grpc-js makes (its
 * settings before binding, each connection's window as it opens). Where grpc-js no longer has these
 * fields, the windows stay HTTP/2's: slower, never wrong. */
export const FLOW_CONTROL_WINDOW = 16 << 20;

interface Http2Internals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<{ on: (event: "session", listener: (session: { setLocalWindowSize?: (size: number) => void }) => void) => void }, unknown>;
}

function widenWindows(server: grpc.Server): void {
  const internals = server as unknown as Http2Internals;
  if (internals.commonServerOptions !== undefined) {
    internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: FLOW_CONTROL_WINDOW };
  }
}

function widenSessions(server: grpc.Server): void {
  for (const http2Server of (server as unknown as Http2Internals).http2Servers?.keys() ?? []) {
    http2Server.on("session", (session) => session.setLocalWindowSize?.(FLOW_CONTROL_WINDOW));
  }
}

function limits(): grpc.ChannelOptions {
  return { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 };
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "localhost" || host === "[::1]" || host === "::1";
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  let difference = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) difference |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return difference === 0;
}

function parseArgs(argv: string[]): { address?: string; tlsCert?: string; tlsKey?: string } {
  const found: { address?: string; tlsCert?: string; tlsKey?: string } = {};
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = inline ?? argv[i + 1];
    if (flag === "--address") found.address = value;
    else if (flag === "--tls-cert") found.tlsCert = value;
    else if (flag === "--tls-key") found.tlsKey = value;
    else continue;
    if (inline === undefined) i += 1;
  }
  return found;
}
