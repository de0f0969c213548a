// The Node worker at the protocol level, driven by a gRPC client of the same service definition.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Dictionary, Int32, Table, tableFromArrays, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { plugin as scorePlugin } from "../examples/score.js";
import { decodeFlightData, encodeFlightData } from "../src/flightdata.js";
import { flightMessages, type FlightData, IpcCollector, ROWS_PER_BATCH } from "../src/ipc.js";
import { flightClient, flightService, Plugin, type RunningWorker, tableOf } from "../src/index.js";
import { FLOW_CONTROL_WINDOW } from "../src/server.js";

interface Answer {
  table: Table | null;
  metadata: Record<string, unknown>[];
  error: (grpc.ServiceError & { structured?: Record<string, unknown> }) | null;
}

type Client = ReturnType<typeof flightClient>;

function exchange(client: Client, request: Record<string, unknown> | Buffer, table: Table, token?: string): Promise<Answer> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const call = client.DoExchange(metadata) as grpc.ClientDuplexStream<FlightData, FlightData>;
  const collector = new IpcCollector();
  const answer: Answer = { table: null, metadata: [], error: null };
  return new Promise((resolve) => {
    call.on("data", (message: FlightData) => {
      collector.add(message);
      if (message.app_metadata && message.app_metadata.length > 0) answer.metadata.push(JSON.parse(Buffer.from(message.app_metadata).toString()));
    });
    call.on("error", (error: grpc.ServiceError) => {
      const details = error.metadata?.get("grpc-status-details-bin")[0];
      answer.error = Object.assign(error, { structured: details ? JSON.parse(Buffer.from(details as Buffer).toString()) : undefined });
      answer.table = collector.table();
      resolve(answer);
    });
    call.on("end", () => {
      answer.table = collector.table();
      resolve(answer);
    });
    const command = Buffer.isBuffer(request) ? request : Buffer.from(JSON.stringify(request));
    let first = true;
    for (const message of flightMessages(table)) {
      call.write(first ? { ...message, flight_descriptor: { type: "CMD", cmd: command } } : message);
      first = false;
    }
    call.end();
  });
}

function action(client: Client, type: string, body: unknown = {}, token?: string, milliseconds?: number): Promise<Record<string, unknown>> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const options = milliseconds !== undefined ? { deadline: Date.now() + milliseconds } : {};
  const call = client.DoAction({ type, body: Buffer.from(JSON.stringify(body)) }, metadata, options) as grpc.ClientReadableStream<{ body: Buffer }>;
  return new Promise((resolve, reject) => {
    const answers: Record<string, unknown>[] = [];
    call.on("data", (result: { body: Buffer }) => answers.push(JSON.parse(Buffer.from(result.body).toString())));
    call.on("error", reject);
    call.on("end", () => resolve(answers[0]));
  });
}

const orders = () => tableFromArrays({ id: new BigInt64Array([1n, 2n, 3n]), amount: new Float64Array([10, -5, 7.5]) });

describe("a served plugin", () => {
  let worker: RunningWorker;
  let client: Client;

  before(async () => {
    worker = await scorePlugin.serve({ quiet: true, argv: [], address: "grpc://127.0.0.1:0", path: "shop/score" });
    client = flightClient(worker.address);
  });
  after(async () => {
    client.close();
    await worker.close();
  });

  test("health and describe answer the module as catalog data", async () => {
    const health = await action(client, "health");
    assert.equal(health.status, "ok");
    assert.equal(health.language, "node");
    const described = (await action(client, "describe", { path: "shop/score" })) as { modules: { path: string; module: Record<string, any> }[] };
    const module = described.modules[0].module;
    assert.equal(described.modules[0].path, "shop/score");
    assert.deepEqual(module.functions.map((f: { name: string }) => f.name), ["score", "identity", "fail", "total"]);
    const score = module.functions[0];
    assert.deepEqual(score.input.columns, [["id", true], ["amount", true]]);
    assert.equal(score.input.open, true);
    assert.equal(score.output.open, false);
    const schema = tableFromIPC(Buffer.from(score.output.ipc, "base64")).schema;
    assert.deepEqual(schema.fields.map((f) => `${f.name}:${f.type}`), ["id:Int64", "amount:Float64", "score:Float64"]);
    assert.deepEqual(score.config.fields.map((f: { name: string; required: boolean }) => [f.name, f.required]), [["factor", false]]);
  });

  test("a step runs on the rows sent and its output comes back", async () => {
    const answer = await exchange(client, { module: "shop/score", step: "identity", run_id: "r" }, orders());
    assert.equal(answer.error, null);
    assert.deepEqual(answer.table?.getChild("amount")?.toArray(), new Float64Array([10, -5, 7.5]));
  });

  test("failed rows: the good rows, then their positions and reasons, then a structured error", async () => {
    const answer = await exchange(client, { module: "shop/score", step: "score", config: { factor: 3 } }, orders());
    assert.deepEqual([...(answer.table?.getChild("score")?.toArray() ?? [])], [30, 22.5]);
    assert.deepEqual(answer.metadata, [{ failed_rows: [1], reasons: ["order 2: negative amount"] }]);
    assert.equal(answer.error?.structured?.kind, "rows");
  });

  test("a step that throws is a structured error with its class and stack", async () => {
    const answer = await exchange(client, { module: "shop/score", step: "fail" }, orders());
    assert.equal(answer.error?.structured?.kind, "step");
    assert.equal(answer.error?.structured?.type, "RangeError");
    assert.match(String(answer.error?.structured?.stack_trace), /examples\/score/);
  });

  test("malformed requests are error answers and the worker keeps serving", async () => {
    for (const request of [Buffer.from("not json"), { module: "x" }, { step: "nope" }, { step: "score", attempt: 0 },
      { step: "score", config: { unknown: 1 } }, { step: "score", config: { factor: "high" } }]) {
      const answer = await exchange(client, request as Record<string, unknown>, orders());
      assert.equal(answer.error?.structured?.kind, "request", JSON.stringify(request));
    }
    await assert.rejects(action(client, "no-such-action"));
    // record batches that are not Arrow: an error answer, not a crash
    const garbled = client.DoExchange(new grpc.Metadata()) as grpc.ClientDuplexStream<FlightData, FlightData>;
    const refused = await new Promise<grpc.ServiceError>((resolve) => {
      garbled.on("data", () => undefined);
      garbled.on("error", resolve);
      garbled.on("end", () => resolve(new Error("answered") as grpc.ServiceError));
      garbled.write({ flight_descriptor: { type: "CMD", cmd: Buffer.from(JSON.stringify({ step: "identity" })) }, data_header: Buffer.from("not a flatbuffer"), data_body: Buffer.alloc(64) });
      garbled.end();
    });
    assert.match(String(refused.metadata.get("grpc-status-details-bin")[0]), /"kind":"request".*the input rows cannot be read/);
    // bytes that are not FlightData at all: gRPC's error answer
    const raw = new (grpc.makeGenericClientConstructor({ ...flightService(), DoExchange: { ...flightService().DoExchange, requestSerialize: (bytes: Buffer) => bytes } }, "Raw"))(
      `127.0.0.1:${worker.port}`, grpc.credentials.createInsecure());
    const rawCall = (raw as unknown as Client).DoExchange() as grpc.ClientDuplexStream<Buffer, FlightData>;
    const internal = await new Promise<grpc.ServiceError>((resolve) => {
      rawCall.on("data", () => undefined);
      rawCall.on("error", resolve);
      rawCall.write(Buffer.from([0xff, 0xff, 0xff]));
      rawCall.end();
    });
    raw.close();
    assert.equal(internal.code, grpc.status.INTERNAL);
    assert.equal((await action(client, "health")).status, "ok");
  });
});

describe("resources and tokens", () => {
  const closed: string[] = [];
  const plugin = new Plugin("vaulted");
  plugin.resource({ name: "vault", config: { api_key: { type: "str", secret: true } } }, (config) => ({
    key: config.api_key,
    close: () => closed.push(String(config.api_key)),
  }));
  plugin.step({ name: "keyed", resource: "vault", output: { key: "String" } }, (_rows, { resource }) =>
    tableOf({ key: "String" } as const, { key: [(resource as { key: string }).key] }));
  let worker: RunningWorker;
  let client: Client;

  before(async () => {
    worker = await plugin.serve({ quiet: true, argv: [], token: "t0ken" });
    client = flightClient(worker.address);
  });
  after(async () => {
    client.close();
    await worker.close();
  });

  test("a call without the token is refused", async () => {
    await assert.rejects(action(client, "health"), (error: grpc.ServiceError) => error.code === grpc.status.UNAUTHENTICATED);
    await assert.rejects(action(client, "health", {}, "wrong"));
    assert.equal((await action(client, "health", {}, "t0ken")).status, "ok");
  });

  test("a resource is made once per run from its config and closed when the run is released", async () => {
    const request = {
      module: "test/vaulted", step: "keyed", run_id: "run-1",
      resources: [{ key: "vault", name: "my_vault", module: "test/vaulted", constructor: "vault", config: { api_key: "s3cret" } }],
    };
    for (let i = 0; i < 2; i += 1) {
      const answer = await exchange(client, request, orders(), "t0ken");
      assert.equal(answer.error, null);
      assert.equal(answer.table?.getChild("key")?.get(0), "s3cret");
    }
    assert.deepEqual(closed, []);
    assert.deepEqual(await action(client, "release", { run_id: "run-1" }, "t0ken"), { problems: [] });
    assert.deepEqual(closed, ["s3cret"]);
  });
});

test("tableOf converts values to the declared column types", () => {
  const table = tableOf({ id: "Int64", name: "String", ok: "Boolean" } as const, { id: [1n, 2n], name: ["a", "b"], ok: [true, false] });
  assert.deepEqual(table.schema.fields.map((f) => String(f.type)), ["Int64", "Utf8", "Bool"]);
  assert.equal(table.numRows, 2);
});

test("a plugin refuses bad names and duplicate steps", () => {
  assert.throws(() => new Plugin("no spaces"));
  const plugin = new Plugin("dupe");
  plugin.step({ name: "a" }, (rows) => rows);
  assert.throws(() => plugin.step({ name: "a" }, (rows) => rows), /already has a step/);
  assert.throws(() => plugin.step({ name: "bad name" }, (rows) => rows));
});

test("TLS: a client that trusts the certificate is served, a plain-text one is not", async (t) => {
  const folder = mkdtempSync(join(tmpdir(), "heddle-tls-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", join(folder, "key.pem"), "-out", join(folder, "cert.pem")], { stdio: "ignore" });
  } catch {
    t.skip("needs openssl to make a certificate");
    return;
  }
  const cert = readFileSync(join(folder, "cert.pem"));
  const worker = await scorePlugin.serve({ quiet: true, argv: [], address: "grpc://127.0.0.1:0", tls: { cert, key: readFileSync(join(folder, "key.pem")) } });
  assert.match(worker.address, /^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
  const secure = flightClient(worker.address, grpc.credentials.createSsl(cert));
  const plain = flightClient(worker.address);
  try {
    assert.equal((await action(secure, "health")).status, "ok");
    await assert.rejects(action(plain, "health"));
  } finally {
    secure.close();
    plain.close();
    await worker.close();
    rmSync(folder, { recursive: true, force: true });
  }
});

// --- the wire: FlightData by hand, tables cut into messages -------------------------------------------

test("FlightData encodes and decodes by its field numbers; a body may be written in pieces", () => {
  const message = { flight_descriptor: { type: "CMD", cmd: Buffer.from("{}") }, data_header: Buffer.from([1, 2, 3]),
    app_metadata: Buffer.from("m"), data_body: [Buffer.from([4, 5]), Buffer.alloc(300, 6)] };
  const raw = encodeFlightData(message);
  const back = decodeFlightData(raw);
  assert.equal(back.flight_descriptor?.type, 2);
  assert.equal(Buffer.from(back.flight_descriptor?.cmd ?? []).toString(), "{}");
  assert.deepEqual([...(back.data_header ?? [])], [1, 2, 3]);
  assert.equal(Buffer.from(back.app_metadata ?? []).toString(), "m");
  assert.deepEqual(Buffer.from(back.data_body as Uint8Array), Buffer.concat([Buffer.from([4, 5]), Buffer.alloc(300, 6)]));
  assert.equal((back.data_body as Uint8Array).buffer, raw.buffer); // a view, not a copy
  // a field this SDK does not know (number 4, a varint) is skipped; a message cut short is an error
  assert.deepEqual([...(decodeFlightData(Buffer.concat([Buffer.from([0x20, 0x96, 0x01]), raw])).data_header ?? [])], [1, 2, 3]);
  assert.throws(() => decodeFlightData(raw.subarray(0, raw.byteLength - 1)), /cut short/);
});

test("a table goes through the messages whole: batches cut to the wire's size, dictionaries, nulls", () => {
  const rows = ROWS_PER_BATCH * 2 + 5;
  const id = vectorFromArray(new Int32Array(rows).map((_, i) => i));
  const name = vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `n${i % 3}`)), new Utf8());
  const kind = vectorFromArray(Array.from({ length: rows }, (_, i) => ["a", "b"][i % 2]), new Dictionary(new Utf8(), new Int32()));
  // plain columns: the schema, then three batches; a dictionary column: the schema, its dictionary, one batch
  for (const [given, messages] of [[new Table({ id, name }), 4], [new Table({ id, kind }), 3]] as const) {
    const sent = [...flightMessages(given)];
    assert.equal(sent.length, messages);
    const collector = new IpcCollector();
    for (const message of sent) collector.add(decodeFlightData(encodeFlightData(message)));
    const back = collector.table();
    assert.equal(back?.numRows, rows);
    assert.deepEqual(back?.toArray().map((row) => JSON.stringify(row)), given.toArray().map((row) => JSON.stringify(row)));
  }
});

// --- the worker as served --------------------------------------------------------------------------

test("a worker binds 127.0.0.1 on a free port by default, widens HTTP/2's windows, and stops on `shutdown`", async () => {
  const saved = process.env.HEDDLE_WORKER_ADDRESS;
  delete process.env.HEDDLE_WORKER_ADDRESS;
  let stopped = false;
  const worker = await scorePlugin.serve({ quiet: true, argv: [] });
  const close = worker.close;
  try {
    assert.match(worker.address, /^grpc:\/\/127\.0\.0\.1:\d+$/);
    const session = connect(`http://127.0.0.1:${worker.port}`);
    const settings = await new Promise<{ initialWindowSize?: number }>((resolve) => session.once("remoteSettings", resolve));
    session.close();
    assert.equal(settings.initialWindowSize, FLOW_CONTROL_WINDOW);
    const client = flightClient(worker.address);
    assert.deepEqual(await action(client, "shutdown"), { status: "stopping" });
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = flightClient(worker.address);
    await assert.rejects(action(again, "health", {}, undefined, 2000));
    again.close();
    stopped = true;
  } finally {
    if (saved !== undefined) process.env.HEDDLE_WORKER_ADDRESS = saved;
    if (!stopped) await close();
  }
});

// --- same host: tables as files ------------------------------------------------------------------------

describe("same host: tables as files", () => {
  let worker: RunningWorker;
  let client: Client;
  let folder: string;
  const name = (kind: string) => join(folder, `${kind}-${randomBytes(16).toString("hex")}.arrow`);
  const large = (rows: number) => tableFromArrays({ id: new BigInt64Array(rows).map((_, i) => BigInt(i)), amount: new Float64Array(rows).map((_, i) => i / 2) });
  const inputFile = (table: Table) => {
    const path = name("in");
    writeFileSync(path, tableToIPC(table, "file"), { mode: 0o600 });
    return path;
  };

  before(async () => {
    worker = await scorePlugin.serve({ quiet: true, argv: [], address: "grpc://127.0.0.1:0", path: "shop/score" });
    client = flightClient(worker.address);
    folder = mkdtempSync(join(tmpdir(), "heddle-exchange-")); // mode 0700
  });
  after(async () => {
    client.close();
    await worker.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test("`share` answers the probe of a private folder of the worker's user, and of nothing else", async () => {
    const probe = `probe-${randomBytes(16).toString("hex")}.txt`;
    writeFileSync(join(folder, probe), "the probe's text", { mode: 0o600 });
    assert.deepEqual(await action(client, "share", { directory: folder, probe }), { probe: "the probe's text" });
    const open = mkdtempSync(join(tmpdir(), "heddle-open-"));
    const link = `${folder}-link`;
    try {
      chmodSync(open, 0o755);
      writeFileSync(join(open, probe), "x");
      symlinkSync(folder, link);
      await assert.rejects(action(client, "share", { directory: open, probe }), /may be read by other users/);
      await assert.rejects(action(client, "share", { directory: link, probe }), /is not a folder/);
      await assert.rejects(action(client, "share", { directory: folder, probe: "../probe.txt" }), /not the name of a shared file/);
    } finally {
      rmSync(open, { recursive: true, force: true });
      rmSync(link, { force: true });
    }
  });

  test("a large output goes to the file named; the input columns returned unchanged are named, not written", async () => {
    const given = large(100_000);
    const output = name("out");
    const answer = await exchange(client, { module: "shop/score", step: "identity", input_file: inputFile(given), output_file: output }, new Table());
    assert.equal(answer.error, null);
    assert.deepEqual(answer.metadata, [{ output_file: output, rows: 100_000, input_columns: { 0: 0, 1: 1 } }]);
    assert.deepEqual(answer.table?.schema.fields.map((f) => `${f.name}:${f.type}`), ["id:Int64", "amount:Float64"]);
    assert.equal(answer.table?.numRows, 0);
    assert.equal(tableFromIPC(readFileSync(output)).numCols, 0);

    const scored = name("out");
    const computed = await exchange(client, { module: "shop/score", step: "score", config: { factor: 3 }, input_file: inputFile(given), output_file: scored }, new Table());
    assert.equal(computed.error, null);
    assert.deepEqual(computed.metadata, [{ output_file: scored, rows: 100_000, input_columns: {} }]);
    const written = tableFromIPC(readFileSync(scored));
    assert.deepEqual(written.schema.fields.map((f) => f.name), ["id", "amount", "score"]);
    assert.equal(written.getChild("score")?.get(99_999), 99_999 * 1.5);
  });

  test("a small output, failed rows and errors are answered on the stream", async () => {
    const given = large(100_000);
    const output = name("out");
    const total = await exchange(client, { module: "shop/score", step: "total", input_file: inputFile(given), output_file: output }, new Table());
    assert.deepEqual(total.metadata, []);
    assert.equal(total.table?.getChild("total")?.get(0), given.getChild("amount")?.toArray().reduce((a: number, b: number) => a + b, 0));
    assert.equal(existsSync(output), false);
    const negative = tableFromArrays({ id: new BigInt64Array([1n, 2n]), amount: new Float64Array([1, -1]) });
    const failed = await exchange(client, { module: "shop/score", step: "score", input_file: inputFile(negative), output_file: name("out") }, new Table());
    assert.deepEqual(failed.metadata, [{ failed_rows: [1], reasons: ["order 2: negative amount"] }]);
    assert.equal(failed.table?.numRows, 1);
    assert.equal(failed.error?.structured?.kind, "rows");
  });

  test("a file outside the folders the worker accepted is refused before the step runs", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "heddle-elsewhere-"));
    try {
      const path = join(elsewhere, `in-${randomBytes(16).toString("hex")}.arrow`);
      writeFileSync(path, tableToIPC(large(10), "file"), { mode: 0o600 });
      for (const request of [{ input_file: path }, { input_file: inputFile(large(10)), output_file: join(elsewhere, "out.arrow") }, { input_file: join(folder, "in-x.arrow") }]) {
        const answer = await exchange(client, { module: "shop/score", step: "identity", ...request }, new Table());
        assert.equal(answer.error?.structured?.kind, "request", JSON.stringify(request));
        assert.equal(answer.error?.structured?.type, "SharedFileError", JSON.stringify(request));
      }
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
