// Heddle's Node.js SDK: declare a plugin's resources and steps on apache-arrow tables, and serve them to the
// engine over Arrow Flight (`plugin.serve()`), as Heddle's Python SDK does.

export { isMain, Plugin, RowErrors } from "./plugin.js";
export type { Initializer, ResourceOptions, StepContext, StepFunction, StepOptions, StepResult } from "./plugin.js";
export { flightClient, flightService, serve } from "./server.js";
export type { RunningWorker, ServeOptions } from "./server.js";
export { arrowSchema, schemaData, tableOf } from "./types.js";
export type { ColumnType, Columns, ConfigKey, ConfigKeys, TableOf } from "./types.js";
export { failureBytes, parseAddress, parseStepRequest, PROTOCOL_VERSION, ProtocolError } from "./protocol.js";
