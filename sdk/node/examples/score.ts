// An example Node plugin, served with `node dist/examples/score.js` (the engine starts it from heddle.toml:
// "shop/score" = { command = ["node", "dist/examples/score.js"] }).

import { isMain, Plugin, RowErrors, tableOf } from "../src/index.js";

export const plugin = new Plugin("score", "Order scoring, in Node.");

const Orders = { id: "Int64", amount: "Float64" } as const;
const Scored = { id: "Int64", amount: "Float64", score: "Float64" } as const;

plugin.step(
  {
    name: "score",
    doc: "Scores each order: its amount times `factor`. A negative amount is a failed row.",
    input: Orders,
    output: Scored,
    config: { factor: { type: "float", default: 2, doc: "what an amount is multiplied by" } },
  },
  (orders, { config }) => {
    const factor = Number(config.factor);
    const ids = orders.getChild("id")!.toArray() as BigInt64Array;
    const amounts = orders.getChild("amount")!.toArray() as Float64Array;
    const good: number[] = [];
    const bad: number[] = [];
    amounts.forEach((amount, row) => (amount >= 0 ? good : bad).push(row));
    const output = tableOf(Scored, {
      id: good.map((row) => ids[row]),
      amount: good.map((row) => amounts[row]),
      score: good.map((row) => amounts[row] * factor),
    });
    if (bad.length > 0) throw new RowErrors(output, bad, bad.map((row) => `order ${ids[row]}: negative amount`));
    return output;
  },
);

plugin.step({ name: "identity", doc: "Returns its input unchanged (the benchmark's step).", passthrough: true }, (rows) => rows);

plugin.step({ name: "fail", doc: "Always throws.", input: Orders, output: Scored }, () => {
  throw new RangeError("the scoring model is missing");
});

plugin.step({ name: "total", doc: "The sum of the amounts (a typed output built from a vector).", input: Orders, output: { total: "Float64" } }, (orders) => {
  const amounts = orders.getChild("amount")!.toArray() as Float64Array;
  return tableOf({ total: "Float64" } as const, { total: [amounts.reduce((a, b) => a + b, 0)] });
});

if (isMain(import.meta.url)) void plugin.serve();
