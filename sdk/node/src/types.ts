// Column types, table schemas and config keys, and the catalog data `describe` sends for them.
//
// Column types are named as in Heddle (`"Int64"`, `"String"`, ...). A schema travels as the catalog
// data every Heddle worker sends: the column names, whether more columns may come (`open`), and an
// empty Arrow IPC stream of the schema itself, which spells each type exactly.

import * as arrow from "apache-arrow";

const TYPES = {
  Int8: () => new arrow.Int8(),
  Int16: () => new arrow.Int16(),
  Int32: () => new arrow.Int32(),
  Int64: () => new arrow.Int64(),
  UInt8: () => new arrow.Uint8(),
  UInt16: () => new arrow.Uint16(),
  UInt32: () => new arrow.Uint32(),
  UInt64: () => new arrow.Uint64(),
  Float32: () => new arrow.Float32(),
  Float64: () => new arrow.Float64(),
  String: () => new arrow.Utf8(),
  Boolean: () => new arrow.Bool(),
  Binary: () => new arrow.Binary(),
  Date: () => new arrow.DateDay(),
  Datetime: () => new arrow.TimestampMicrosecond(),
} as const;

/** A column type, named as in Heddle. */
export type ColumnType = keyof typeof TYPES;

interface ArrowTypes {
  Int8: arrow.Int8;
  Int16: arrow.Int16;
  Int32: arrow.Int32;
  Int64: arrow.Int64;
  UInt8: arrow.Uint8;
  UInt16: arrow.Uint16;
  UInt32: arrow.Uint32;
  UInt64: arrow.Uint64;
  Float32: arrow.Float32;
  Float64: arrow.Float64;
  String: arrow.Utf8;
  Boolean: arrow.Bool;
  Binary: arrow.Binary;
  Date: arrow.DateDay;
  Datetime: arrow.TimestampMicrosecond;
}

/** Columns by name: `{ id: "Int64", amount: "Float64" }`. */
export type Columns = Record<string, ColumnType>;

/** The apache-arrow table a schema stands for: `TableOf<{ id: "Int64" }>` is `Table<{ id: Int64 }>`. */
export type TableOf<C extends Columns> = arrow.Table<{ [K in keyof C & string]: ArrowTypes[C[K]] }>;

/** The values of one column, as `tableOf` takes them. */
export type ColumnValues = ArrayLike<unknown> | arrow.Vector;

export function isColumnType(name: string): name is ColumnType {
  return Object.prototype.hasOwnProperty.call(TYPES, name);
}

export function arrowType(name: ColumnType): arrow.DataType {
  return TYPES[name]();
}

export function arrowSchema(columns: Columns): arrow.Schema {
  return new arrow.Schema(Object.entries(columns).map(([name, type]) => new arrow.Field(name, arrowType(type), true)));
}

/** A table of the declared columns, each converted to its declared type: `tableOf(Scored, { id, score })`. */
export function tableOf<C extends Columns>(columns: C, values: { [K in keyof C]: ColumnValues }): TableOf<C> {
  const vectors: Record<string, arrow.Vector> = {};
  for (const [name, type] of Object.entries(columns)) {
    const given = values[name];
    if (given === undefined) throw new TypeError(`tableOf: no values for the column \`${name}\``);
    vectors[name] = given instanceof arrow.Vector ? given : arrow.vectorFromArray(Array.from(given), arrowType(type));
  }
  return new arrow.Table(vectors) as unknown as TableOf<C>;
}

export interface SchemaData {
  columns: [string, boolean][];
  open: boolean;
  ipc: string;
}

/** A schema as catalog data (`open`: other columns may come along, as for a step's input). */
export function schemaData(columns: Columns, open: boolean): SchemaData {
  const schema = arrowSchema(columns);
  const empty = new arrow.Table(schema);
  return {
    columns: Object.keys(columns).map((name) => [name, true]),
    open,
    ipc: Buffer.from(arrow.tableToIPC(empty, "file")).toString("base64"), // as Polars writes it: the file format
  };
}

/** Config keys: `{ factor: { type: "float", default: 2 } }`. */
export type ConfigKind = "str" | "int" | "float" | "bool" | "list" | "dict" | "any";

export interface ConfigKey {
  type: ConfigKind;
  default?: unknown;
  doc?: string;
  secret?: boolean; // never shown (hovers, plans, logs)
  nullable?: boolean;
  item?: ConfigKind; // for lists and dicts
}

export type ConfigKeys = Record<string, ConfigKey>;

export function isRequired(key: ConfigKey): boolean {
  return key.default === undefined && !key.nullable;
}

export function configData(keys: ConfigKeys): Record<string, unknown> {
  return {
    open: false,
    fields: Object.entries(keys).map(([name, key]) => ({
      name,
      type: {
        kind: key.type,
        nullable: Boolean(key.nullable),
        ...(key.item !== undefined ? { item: { kind: key.item, nullable: false } } : {}),
      },
      required: isRequired(key),
      doc: key.doc ?? "",
      secret: Boolean(key.secret),
      default: key.default === undefined ? null : key.default,
    })),
  };
}

/** The literal config of a call checked against its keys: the values with defaults, or why it is refused. */
export function checkedConfig(keys: ConfigKeys, given: Record<string, unknown>): Record<string, unknown> {
  const unknown = Object.keys(given).filter((name) => !(name in keys));
  if (unknown.length > 0) throw new TypeError(`unknown config key ${unknown.map((k) => `\`${k}\``).join(", ")}`);
  const values: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(keys)) {
    const value = name in given ? given[name] : key.default;
    if (value === undefined || value === null) {
      if (isRequired(key)) throw new TypeError(`the config key \`${name}\` is required`);
      values[name] = null;
      continue;
    }
    if (!fits(key.type, value)) throw new TypeError(`the config key \`${name}\` takes ${key.type}, not ${JSON.stringify(value)}`);
    values[name] = value;
  }
  return values;
}

function fits(kind: ConfigKind, value: unknown): boolean {
  switch (kind) {
    case "str":
      return typeof value === "string";
    case "int":
      return typeof value === "number" && Number.isInteger(value);
    case "float":
      return typeof value === "number";
    case "bool":
      return typeof value === "boolean";
    case "list":
      return Array.isArray(value);
    case "dict":
      return typeof value === "object" && !Array.isArray(value);
    default:
      return true;
  }
}
