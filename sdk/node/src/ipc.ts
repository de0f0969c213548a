// Arrow tables to and from Flight's FlightData messages.
//
// A FlightData holds one Arrow IPC message without the stream framing: `data_header` is the message's
// flatbuffer metadata and `data_body` its buffers. Reading puts the framing back and reads the messages as
// an IPC stream; writing cuts the IPC stream apache-arrow writes into its messages. Neither side copies a
// table whole: a body received is copied once, when it arrives, to where Arrow can use it in place (8-byte
// aligned), and a body sent is the column buffers themselves until the message is encoded.

import { AsyncByteQueue, DataType, Message, RecordBatch, RecordBatchStreamWriter, type RecordBatchWriter, type Schema, Table, tableFromIPC } from "apache-arrow";
import type { FlightData } from "./flightdata.js";

export type { FlightData, FlightDescriptor } from "./flightdata.js";

const CONTINUATION = 0xffffffff;
export const ROWS_PER_BATCH = 65_536; // record batches a table is cut into on the wire (as the engine does)

/** Collects the IPC messages of an exchange as they arrive and reads them as one table. A message that is
 * not Arrow is kept as the reason `table()` throws (the peer gets an error answer; the worker goes on). */
export class IpcCollector {
  private readonly parts: Uint8Array[] = [];
  private read: Table | null | undefined;
  private broken: Error | undefined;

  add(data: FlightData): void {
    if (this.broken !== undefined) return;
    try {
      this.collect(data);
    } catch (error) {
      this.broken = error instanceof Error ? error : new Error(String(error));
      this.parts.length = 0;
    }
  }

  private collect(data: FlightData): void {
    const header = data.data_header;
    if (header === undefined || header.length === 0) return; // metadata only
    const message = Message.decode(header);
    if (!message.isSchema() && !message.isRecordBatch() && !message.isDictionaryBatch()) {
      throw new TypeError("a message's header is not an Arrow schema, record batch or dictionary");
    }
    const bodyLength = Number(message.bodyLength);
    const padded = Math.ceil(header.length / 8) * 8;
    const framed = Buffer.alloc(8 + padded);
    framed.writeUInt32LE(CONTINUATION, 0);
    framed.writeInt32LE(padded, 4);
    framed.set(header, 8);
    this.parts.push(framed);
    if (bodyLength === 0) return;
    const body = pieces(data.data_body);
    const received = body.reduce((sum, piece) => sum + piece.byteLength, 0);
    if (received < bodyLength) throw new RangeError(`a record batch announces ${bodyLength} bytes and brings ${received}`);
    // Buffer.allocUnsafe gives memory of its own (aligned) from 4 KiB on, and 8-byte-aligned slices of its pool
    // below: Arrow reads the columns in place. gRPC's message goes as soon as it is copied.
    const aligned = Buffer.allocUnsafe(bodyLength);
    let at = 0;
    for (const piece of body) {
      const taken = piece.subarray(0, bodyLength - at);
      aligned.set(taken, at);
      at += taken.byteLength;
      if (at === bodyLength) break;
    }
    this.parts.push(aligned);
  }

  /** The table the messages make (null when the peer sent no schema). */
  table(): Table | null {
    if (this.broken !== undefined) throw this.broken;
    if (this.read === undefined) {
      const end = Buffer.alloc(8);
      end.writeUInt32LE(CONTINUATION, 0);
      this.read = this.parts.length === 0 ? null : tableFromIPC([...this.parts.splice(0), end]);
    }
    return this.read;
  }
}

/** A table as FlightData messages: its schema first, then its record batches (at most ROWS_PER_BATCH rows
 * each). Each message is made when the previous one was taken, and its body is the column buffers
 * themselves (views), so sending a table copies it only into the messages gRPC sends. */
export function* flightMessages(table: Table): Generator<FlightData> {
  const stream = new IpcPieces(new RecordBatchStreamWriter(), table.schema);
  yield* stream.messages();
  const dictionaries = table.schema.fields.some((field) => DataType.isDictionary(field.type));
  for (const whole of table.batches) {
    // a dictionary column's batches are sent whole: their dictionaries are written beside them
    const step = dictionaries || whole.numRows <= ROWS_PER_BATCH ? Math.max(whole.numRows, 1) : ROWS_PER_BATCH;
    for (let start = 0; start < whole.numRows; start += step) {
      const batch = step >= whole.numRows ? whole : whole.slice(start, Math.min(start + step, whole.numRows));
      stream.add(new RecordBatch(table.schema, batch.data));
      yield* stream.messages();
    }
  }
}

/** What an Arrow IPC writer writes, kept as the views it writes (nothing is joined). */
class Sink extends AsyncByteQueue {
  pending: Uint8Array[] = [];
  length = 0;

  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.pending.push(value);
    this.length += value.byteLength;
  }
}

/** An Arrow IPC writer's output as pieces, or cut into its messages. */
export class IpcPieces {
  private readonly sink = new Sink();

  constructor(private readonly writer: RecordBatchWriter, schema: Schema) {
    writer.reset(this.sink as never, schema); // starts the output: its schema (or the file's magic) comes first
  }

  /** Writes a record batch (and the dictionaries it needs): its whole messages are pending when it returns. */
  add(batch: RecordBatch): void {
    this.writer.write(batch);
  }

  /** Ends the writer's output (an IPC file's footer). */
  finish(): void {
    this.writer.close();
  }

  /** The bytes written since the last call, as the pieces written. */
  take(): Uint8Array[] {
    const taken = this.sink.pending;
    this.sink.pending = [];
    this.sink.length = 0;
    return taken;
  }

  /** The whole messages written since the last call, as FlightData (the stream's end marker is left out). */
  *messages(): Generator<FlightData> {
    while (this.sink.length >= 8) {
      const prefix = joined(this.cut(8, false));
      const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
      const continued = view.getUint32(0, true) === CONTINUATION;
      const metadataLength = continued ? view.getInt32(4, true) : view.getInt32(0, true);
      this.cut(continued ? 8 : 4);
      if (metadataLength === 0) continue; // the end of the stream
      const header = joined(this.cut(metadataLength));
      const body = this.cut(Number(Message.decode(header).bodyLength));
      yield { data_header: header, data_body: body };
    }
  }

  /** The next `n` bytes as views (taken off the pending pieces unless `consume` is false). */
  private cut(n: number, consume = true): Uint8Array[] {
    const pending = this.sink.pending;
    const found: Uint8Array[] = [];
    let left = n;
    let whole = 0;
    let rest: Uint8Array | undefined;
    while (left > 0) {
      const piece = pending[whole];
      if (piece === undefined) throw new RangeError("an Arrow IPC message was cut short");
      if (piece.byteLength <= left) {
        found.push(piece);
        left -= piece.byteLength;
        whole += 1;
      } else {
        found.push(piece.subarray(0, left));
        rest = piece.subarray(left);
        left = 0;
      }
    }
    if (consume) {
      if (rest !== undefined) pending.splice(0, whole + 1, rest);
      else pending.splice(0, whole);
      this.sink.length -= n;
    }
    return found;
  }
}

function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts);
}

function pieces(body: FlightData["data_body"]): readonly Uint8Array[] {
  if (body === undefined) return [];
  return body instanceof Uint8Array ? [body] : body;
}
