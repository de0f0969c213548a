// FlightData on the wire, encoded and decoded by hand (the fields of proto/flight.proto's FlightData).
//
// A step call moves a table as one FlightData per record batch, megabytes each. The generic protobuf codec
// copies every body twice more than needed (into its own message object, then into its output buffer), so
// DoExchange uses this one: decoding gives views into the message gRPC received (no copy), encoding writes
// the header and the body's pieces (the Arrow buffers themselves) into the one buffer gRPC sends.

export interface FlightDescriptor {
  type?: string | number; // 1 = PATH, 2 = CMD (numbers when decoded here, names accepted when encoding)
  cmd?: Uint8Array;
  path?: string[];
}

export interface FlightData {
  flight_descriptor?: FlightDescriptor | null;
  data_header?: Uint8Array;
  app_metadata?: Uint8Array;
  data_body?: Uint8Array | readonly Uint8Array[]; // pieces are written one after the other
}

const DESCRIPTOR_TYPES: Record<string, number> = { UNKNOWN: 0, PATH: 1, CMD: 2 };
const LENGTH_DELIMITED = 2;

let scratch = Buffer.alloc(0);

/** A FlightData message as protobuf bytes, in a buffer of its own. */
export function encodeFlightData(message: FlightData): Buffer {
  return encodeInto(message, (size) => Buffer.allocUnsafe(size));
}

/** The same, in a buffer that the next call writes over: for a caller that copies the bytes at once (gRPC's
 * server frames each answer into a buffer of its own before `serialize` returns). A table sent in many
 * messages then allocates one buffer for them, not one each, and the garbage collector runs less often. */
export function encodeFlightDataTransient(message: FlightData): Buffer {
  return encodeInto(message, (size) => {
    if (scratch.byteLength < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.byteLength * 2));
    return scratch.subarray(0, size);
  });
}

function encodeInto(message: FlightData, allocate: (size: number) => Buffer): Buffer {
  const descriptor = message.flight_descriptor ? encodeDescriptor(message.flight_descriptor) : undefined;
  const body = message.data_body === undefined ? [] : message.data_body instanceof Uint8Array ? [message.data_body] : message.data_body;
  const bodyLength = body.reduce((sum, piece) => sum + piece.byteLength, 0);
  let size = 0;
  if (descriptor !== undefined) size += fieldSize(1, descriptor.byteLength);
  if (message.data_header?.byteLength) size += fieldSize(2, message.data_header.byteLength);
  if (message.app_metadata?.byteLength) size += fieldSize(3, message.app_metadata.byteLength);
  if (bodyLength > 0) size += fieldSize(1000, bodyLength);
  const out = allocate(size);
  let at = 0;
  const bytes = (field: number, pieces: readonly Uint8Array[], length: number): void => {
    at = writeVarint(out, at, field * 8 + LENGTH_DELIMITED);
    at = writeVarint(out, at, length);
    for (const piece of pieces) {
      out.set(piece, at);
      at += piece.byteLength;
    }
  };
  if (descriptor !== undefined) bytes(1, [descriptor], descriptor.byteLength);
  if (message.data_header?.byteLength) bytes(2, [message.data_header], message.data_header.byteLength);
  if (message.app_metadata?.byteLength) bytes(3, [message.app_metadata], message.app_metadata.byteLength);
  if (bodyLength > 0) bytes(1000, body, bodyLength);
  return out;
}

/** A FlightData message from protobuf bytes; its byte fields are views into `raw`. */
export function decodeFlightData(raw: Buffer): FlightData {
  const found: FlightData = {};
  for (const [field, value] of fields(raw)) {
    if (field === 1) found.flight_descriptor = decodeDescriptor(value);
    else if (field === 2) found.data_header = value;
    else if (field === 3) found.app_metadata = value;
    else if (field === 1000) found.data_body = value;
  }
  return found;
}

function encodeDescriptor(descriptor: FlightDescriptor): Buffer {
  const type = typeof descriptor.type === "string" ? (DESCRIPTOR_TYPES[descriptor.type] ?? 0) : (descriptor.type ?? 0);
  const cmd = descriptor.cmd ?? new Uint8Array();
  const path = (descriptor.path ?? []).map((part) => Buffer.from(part, "utf-8"));
  let size = type !== 0 ? 1 + varintSize(type) : 0;
  if (cmd.byteLength > 0) size += fieldSize(2, cmd.byteLength);
  for (const part of path) size += fieldSize(3, part.byteLength);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (type !== 0) at = writeVarint(out, writeVarint(out, at, 1 * 8), type);
  const bytes = (field: number, value: Uint8Array): void => {
    at = writeVarint(out, writeVarint(out, at, field * 8 + LENGTH_DELIMITED), value.byteLength);
    out.set(value, at);
    at += value.byteLength;
  };
  if (cmd.byteLength > 0) bytes(2, cmd);
  for (const part of path) bytes(3, part);
  return out;
}

function decodeDescriptor(raw: Buffer): FlightDescriptor {
  const found: FlightDescriptor = { type: 0, cmd: new Uint8Array(), path: [] };
  for (const [field, value, number] of fields(raw)) {
    if (field === 1) found.type = number;
    else if (field === 2) found.cmd = value;
    else if (field === 3) found.path?.push(value.toString("utf-8"));
  }
  return found;
}

/** The fields of a protobuf message: (number, bytes of a length-delimited field, value of a varint field).
 * Fields of other wire types are skipped; a message cut short is an error. */
function* fields(raw: Buffer): Generator<[number, Buffer, number]> {
  const empty = raw.subarray(0, 0);
  let at = 0;
  while (at < raw.byteLength) {
    const [key, afterKey] = readVarint(raw, at);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    at = afterKey;
    if (wireType === 0) {
      const [value, after] = readVarint(raw, at);
      at = after;
      yield [field, empty, value];
    } else if (wireType === LENGTH_DELIMITED) {
      const [length, after] = readVarint(raw, at);
      if (after + length > raw.byteLength) throw new RangeError("a FlightData message is cut short");
      at = after + length;
      yield [field, raw.subarray(after, at), 0];
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
    } else {
      throw new RangeError(`a FlightData message holds a field of wire type ${wireType}`);
    }
  }
  if (at > raw.byteLength) throw new RangeError("a FlightData message is cut short");
}

function readVarint(raw: Buffer, start: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let at = start; at < raw.byteLength && at < start + 10; at += 1) {
    const byte = raw[at];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at + 1];
    scale *= 128;
  }
  throw new RangeError("a FlightData message holds a malformed number");
}

function writeVarint(out: Buffer, start: number, value: number): number {
  let at = start;
  let rest = value;
  while (rest >= 0x80) {
    out[at] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
    at += 1;
  }
  out[at] = rest;
  return at + 1;
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 128)) size += 1;
  return size;
}

function fieldSize(field: number, length: number): number {
  return varintSize(field * 8 + LENGTH_DELIMITED) + varintSize(length) + length;
}
