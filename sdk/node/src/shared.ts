// Same host: a step call's tables as Arrow IPC files in the engine's private folder (docs/protocol.md,
// "Same host: tables as files"); the descriptor, errors, failed rows and sinks stay on Flight.
//
// The engine offers its folder with the action `share`; the worker checks that the folder is its own user's,
// private and not a link, reads the probe file and answers its text. A step call may then name an
// `input_file` (read here whole: Node maps no files) and an `output_file`, written only when the output is
// at least SHARED_MIN_BYTES. Output columns that are input columns unchanged (the same buffers) are not
// written again: the answer names the input column each one is, and the engine takes it from its input.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, writeSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { basename, dirname, isAbsolute } from "node:path";
import { type Data, DataType, RecordBatch, RecordBatchFileWriter, type Table, tableFromIPC } from "apache-arrow";
import { IpcPieces } from "./ipc.js";

export const SHARE_ACTION = "share";
export const SHARED_FILE_ERROR = "SharedFileError"; // the engine offers its folder again when a call is refused so
export const SHARED_MIN_BYTES = 1 << 20; // smaller outputs go on the stream
const NAME = /^(?:(?:in|out)-[0-9a-f]{32}\.arrow|probe-[0-9a-f]{32}\.txt)$/;
const PROBE_BYTES = 64;
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const READ_CHUNK = 1 << 30; // one read(2) moves at most ~2 GiB
const LARGE_INPUT = 64 << 20; // an input this large is waited for to be collected before the next is read
const COLLECT_WAIT_MS = 100; // at most (a step may keep its input: then the next call reads beside it)

export class SharedFileError extends Error {
  override name = SHARED_FILE_ERROR;
}

/** The folders engines offered and this worker accepted. */
export class SharedFolders {
  private readonly folders = new Set<string>();

  /** The text of the probe file in `directory` (the engine compares it); the folder is accepted. */
  accept(directory: string, probe: string): string {
    const folder = privateFolder(directory);
    const path = fileIn(folder, probe);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | NO_FOLLOW);
    } catch (error) {
      throw new SharedFileError(`the probe file ${path} cannot be read: ${(error as Error).message}`);
    }
    try {
      if (!fstatSync(fd).isFile()) throw new SharedFileError(`${path} is not a plain file`);
      const bytes = Buffer.alloc(PROBE_BYTES);
      const read = readSync(fd, bytes, 0, PROBE_BYTES, 0);
      this.folders.add(folder);
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, read));
    } catch (error) {
      if (error instanceof SharedFileError) throw error;
      throw new SharedFileError(`the probe file ${path} cannot be read: ${(error as Error).message}`);
    } finally {
      closeSync(fd);
    }
  }

  /** A file the engine named: directly inside an accepted folder, by a name of the engine's pattern. */
  path(given: string): string {
    const folder = dirname(given);
    if (!isAbsolute(given) || !this.folders.has(folder)) {
      throw new SharedFileError(`${given} is not in a folder this worker accepted (action \`${SHARE_ACTION}\`)`);
    }
    return fileIn(folder, basename(given));
  }
}

function privateFolder(directory: string): string {
  if (!isAbsolute(directory)) throw new SharedFileError(`the shared folder ${directory} is not an absolute path`);
  let found;
  try {
    found = lstatSync(directory);
  } catch (error) {
    throw new SharedFileError(`the shared folder ${directory} cannot be read: ${(error as Error).message}`);
  }
  if (!found.isDirectory()) throw new SharedFileError(`${directory} is not a folder`);
  if (typeof process.getuid === "function" && found.uid !== process.getuid()) {
    throw new SharedFileError(`the shared folder ${directory} belongs to another user`);
  }
  if ((found.mode & 0o077) !== 0) throw new SharedFileError(`the shared folder ${directory} may be read by other users`);
  return directory;
}

function fileIn(folder: string, name: string): string {
  if (!NAME.test(name)) throw new SharedFileError(`\`${name}\` is not the name of a shared file`);
  return `${folder}/${name}`;
}

// The previous large input, gone once the garbage collector freed it.
const collected = new FinalizationRegistry<() => void>((done) => done());
let previousInput: Promise<void> | undefined;

/** The Arrow IPC file at `path`, read into one buffer that its columns use in place.
 *
 * The previous call's input is garbage by now, but V8 frees it only when it collects, which the new
 * buffer's allocation sets going: the file is read once the old input is gone (or after COLLECT_WAIT_MS),
 * into pages not touched before, so back-to-back large calls hold one input in memory, not two. */
export async function readTable(path: string): Promise<Table> {
  const fd = openSync(path, constants.O_RDONLY | NO_FOLLOW);
  try {
    const found = fstatSync(fd);
    if (!found.isFile()) throw new SharedFileError(`${path} is not a plain file`);
    if (found.size > bufferConstants.MAX_LENGTH) {
      throw new RangeError(`the input file holds ${found.size} bytes, more than a Node buffer takes (${bufferConstants.MAX_LENGTH})`);
    }
    const bytes = Buffer.allocUnsafe(found.size); // memory of its own: the file's 8-byte alignment holds
    if (previousInput !== undefined && found.size >= LARGE_INPUT) {
      await Promise.race([previousInput, new Promise((resolve) => setTimeout(resolve, COLLECT_WAIT_MS))]);
    }
    for (let at = 0; at < found.size;) {
      const read = readSync(fd, bytes, at, Math.min(found.size - at, READ_CHUNK), at);
      if (read === 0) throw new RangeError(`the input file ended at ${at} of ${found.size} bytes`);
      at += read;
    }
    if (found.size >= LARGE_INPUT) {
      let done = (): void => undefined;
      previousInput = new Promise<void>((resolve) => (done = resolve));
      collected.register(bytes.buffer, done);
    }
    return tableFromIPC(bytes);
  } finally {
    closeSync(fd);
  }
}

/** `table` as an Arrow IPC file at `path`, which must not exist (created 0600, never through a link),
 * written as the writer makes it: no copy of the table is made. */
export function writeTable(path: string, table: Table): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, 0o600);
  try {
    const file = new IpcPieces(new RecordBatchFileWriter(), table.schema);
    const flush = (): void => {
      for (const piece of file.take()) {
        for (let at = 0; at < piece.byteLength;) at += writeSync(fd, piece, at, Math.min(piece.byteLength - at, READ_CHUNK));
      }
    };
    flush();
    for (const batch of table.batches) {
      file.add(new RecordBatch(table.schema, batch.data));
      flush();
    }
    file.finish();
    flush();
  } finally {
    closeSync(fd);
  }
}

/** The bytes of a table's buffers (what decides whether its output goes to a file). */
export function byteSize(table: Table): number {
  let total = 0;
  const add = (data: Data): void => {
    for (const buffer of [data.values, data.valueOffsets, data.nullBitmap, data.typeIds]) total += (buffer as Uint8Array | undefined)?.byteLength ?? 0;
    for (const child of data.children) add(child);
  };
  for (const batch of table.batches) add(batch.data);
  return total;
}

/** Output position → input position of the output columns that are an input column itself (the same
 * buffers, offsets and lengths: the same values without looking at them). */
export function unchangedColumns(output: Table, given: Table): Map<number, number> {
  const found = new Map<number, number>();
  output.schema.fields.forEach((field, position) => {
    if (DataType.isDictionary(field.type)) return;
    const column = output.getChildAt(position)?.data ?? [];
    for (let source = 0; source < given.numCols; source += 1) {
      const candidate = given.getChildAt(source)?.data ?? [];
      if (column.length === candidate.length && column.every((data, i) => sameData(data, candidate[i]))) {
        found.set(position, source);
        return;
      }
    }
  });
  return found;
}

/** The output without the unchanged columns (what goes in the file). */
export function withoutColumns(table: Table, left: Map<number, number>): Table {
  const kept = table.schema.fields.map((_, i) => i).filter((i) => !left.has(i));
  return table.selectAt(kept);
}

function sameData(a: Data, b: Data): boolean {
  if (a === b) return true;
  if (String(a.type) !== String(b.type) || a.offset !== b.offset || a.length !== b.length) return false;
  if (a.children.length !== b.children.length || a.children.some((child, i) => !sameData(child, b.children[i]))) return false;
  return sameView(a.values, b.values) && sameView(a.valueOffsets, b.valueOffsets) && sameView(a.nullBitmap, b.nullBitmap);
}

function sameView(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  const x = a?.byteLength ? a : undefined;
  const y = b?.byteLength ? b : undefined;
  if (x === undefined || y === undefined) return x === y;
  return x.buffer === y.buffer && x.byteOffset === y.byteOffset && x.byteLength === y.byteLength;
}
