// Arrow tables to and from Flight's FlightData messages.
//
// A FlightData holds one Arrow IPC message without the stream framing: `data_header` is the message's
// flatbuffer metadata and `data_body` its buffers. Reading puts the framing back (continuation marker,
// metadata length, metadata padded to 8 bytes, body) and reads the result as an IPC stream; writing cuts
// the IPC stream apache-arrow writes into its messages.

import { DataType, Message, Table, tableFromIPC, tableToIPC } from "apache-arrow";

const CONTINUATION = 0xffffffff;

export interface FlightData {
  flight_descriptor?: FlightDescriptor | null;
  data_header?: Uint8Array;
  app_metadata?: Uint8Array;
  data_body?: Uint8Array;
}

export interface FlightDescriptor {
  type?: string | number;
  cmd?: Uint8Array;
  path?: string[];
}

/** Collects the IPC messages of an exchange and reads them as one table. */
export class IpcCollector {
  private readonly parts: Uint8Array[] = [];
  private messages = 0;
  private read: Table | null | undefined;

  add(data: FlightData): void {
    const header = data.data_header;
    if (header === undefined || header.length === 0) return; // metadata only
    const padded = Math.ceil(header.length / 8) * 8;
    const prefix = new Uint8Array(8);
    const view = new DataView(prefix.buffer);
    view.setUint32(0, CONTINUATION, true);
    view.setInt32(4, padded, true);
    this.parts.push(prefix, header);
    if (padded > header.length) this.parts.push(new Uint8Array(padded - header.length));
    const body = data.data_body;
    if (body !== undefined && body.length > 0) this.parts.push(body);
    this.messages += 1;
  }

  /** The table the messages make (null when the peer sent no schema). The messages are let go: the table
   * reads one contiguous copy of them, and holding both would double the memory a large input takes. */
  table(): Table | null {
    if (this.read === undefined) {
      const end = new Uint8Array(8);
      new DataView(end.buffer).setUint32(0, CONTINUATION, true);
      this.read = this.messages === 0 ? null : tableFromIPC(Buffer.concat([...this.parts.splice(0), end]));
    }
    return this.read;
  }
}

/** A table as FlightData messages: its schema first, then its record batches. Each batch is serialized when
 * the previous one was sent, so sending holds one batch's copy at a time, not the whole table's (a table with
 * dictionary columns is serialized whole: its dictionaries come first). */
export function* flightMessages(table: Table): Generator<FlightData> {
  const dictionaries = table.schema.fields.some((field) => DataType.isDictionary(field.type));
  if (dictionaries || table.batches.length <= 1) {
    yield* messagesOf(tableToIPC(table, "stream"));
    return;
  }
  let first = true;
  for (const batch of table.batches) {
    const messages = messagesOf(tableToIPC(new Table([batch]), "stream"));
    if (!first) messages.next(); // the schema, sent with the first batch
    yield* messages;
    first = false;
  }
}

/** The messages of an IPC stream, without its framing. */
function* messagesOf(bytes: Uint8Array): Generator<FlightData> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 4 <= bytes.byteLength) {
    let length = view.getInt32(offset, true);
    offset += 4;
    if (length === -1) {
      // the continuation marker: the length follows
      if (offset + 4 > bytes.byteLength) break;
      length = view.getInt32(offset, true);
      offset += 4;
    }
    if (length === 0) break; // end of stream
    const header = bytes.subarray(offset, offset + length);
    offset += length;
    const bodyLength = Number(Message.decode(header).bodyLength);
    const body = bytes.subarray(offset, offset + bodyLength);
    offset += bodyLength;
    yield { data_header: header, data_body: body };
  }
}
