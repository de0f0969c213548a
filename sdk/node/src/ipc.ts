// Arrow tables to and from Flight's FlightData messages.
//
// A FlightData holds one Arrow IPC message without the stream framing: `data_header` is the message's
// flatbuffer metadata and `data_body` its buffers. Reading puts the framing back (continuation marker,
// metadata length, metadata padded to 8 bytes, body) and reads the result as an IPC stream; writing cuts
// the IPC stream apache-arrow writes into its messages.

import { Message, type Table, tableFromIPC, tableToIPC } from "apache-arrow";

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

  /** The table the messages make (null when the peer sent no schema). */
  table(): Table | null {
    if (this.messages === 0) return null;
    const end = new Uint8Array(8);
    new DataView(end.buffer).setUint32(0, CONTINUATION, true);
    return tableFromIPC(Buffer.concat([...this.parts, end]));
  }
}

/** A table as FlightData messages: its schema first, then its dictionary and record batches. */
export function* flightMessages(table: Table): Generator<FlightData> {
  const bytes = tableToIPC(table, "stream");
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
