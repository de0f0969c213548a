// The typed plan (`heddle plan --format json`) as Graphviz DOT, laid out for a panel beside the editor:
// top to bottom, one box per node with its label, what it is, and its output columns one a line.
// No DOM: unit-tested under plain Node.

export interface PlanColumn {
  readonly name: string;
  readonly type: string | null;
}

export interface PlanNode {
  readonly id: string;
  readonly kind: string;
  readonly label: string;
  readonly line?: number;
  readonly inputs: readonly string[];
  readonly handler?: string | null;
  readonly output?: { readonly columns: readonly PlanColumn[]; readonly open?: boolean } | null;
}

export interface PlanGraph {
  readonly name: string;
  readonly kind: string;
  readonly handler?: string | null;
  readonly assignments?: Readonly<Record<string, string>>;
  readonly nodes: readonly PlanNode[];
}

export interface Plan {
  readonly graphs: readonly PlanGraph[];
}

export interface Colors {
  readonly foreground: string;
  readonly muted: string;
  readonly accent: string;
}

/** Columns listed in a box; the rest are counted. */
const MAX_COLUMNS = 12;

const KINDS: Readonly<Record<string, string>> = {
  error_context: "error context",
  relational: "PRQL",
  dataframe: "inline data",
};

/** Text for an HTML-like Graphviz label. */
function html(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A quoted DOT identifier or string. */
function quoted(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function nodeLabel(node: PlanNode, captures: readonly string[], colors: Colors): string {
  const row = (cell: string) => `<TR><TD ALIGN="LEFT" BALIGN="LEFT">${cell}</TD></TR>`;
  const small = (text: string, color: string) => `<FONT POINT-SIZE="10" COLOR="${color}">${html(text)}</FONT>`;
  const facts = [KINDS[node.kind] ?? node.kind];
  if (node.line !== undefined) {
    facts.push(`line ${node.line}`);
  }
  if (node.handler) {
    facts.push(`? ${node.handler}`);
  }
  const rows = [row(`<B>${html(node.label)}</B>`), row(small(facts.join(" · "), colors.muted))];
  for (const name of captures) {
    rows.push(row(small(`> ${name}`, colors.accent)));
  }
  const columns = node.output?.columns ?? [];
  for (const column of columns.slice(0, MAX_COLUMNS)) {
    rows.push(row(small(`${column.name}: ${column.type ?? "?"}`, colors.foreground)));
  }
  const more = columns.length - MAX_COLUMNS;
  if (more > 0) {
    rows.push(row(small(`… ${more} more`, colors.muted)));
  }
  if (node.output?.open) {
    rows.push(row(small("… and columns known when it runs", colors.muted)));
  }
  if (node.output === null || node.output === undefined) {
    rows.push(row(small("schema known when it runs", colors.muted)));
  }
  return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">${rows.join("")}</TABLE>>`;
}

export function planToDot(plan: Plan, colors: Colors): string {
  const lines = [
    "digraph plan {",
    "  rankdir=TB; nodesep=0.3; ranksep=0.35;",
    `  graph [fontname="Helvetica", fontsize=12, fontcolor=${quoted(colors.foreground)}, color=${quoted(colors.muted)}, bgcolor="transparent", style="rounded"];`,
    `  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11, color=${quoted(colors.foreground)}, fontcolor=${quoted(colors.foreground)}];`,
    `  edge [color=${quoted(colors.muted)}, arrowsize=0.7];`,
  ];
  // The workflow first (leftmost), then the handlers it may call.
  const graphs = [...plan.graphs].sort((a, b) => Number(a.kind !== "workflow") - Number(b.kind !== "workflow"));
  graphs.forEach((graph, index) => {
    const title = `${graph.kind} ${graph.name}${graph.handler ? ` ? ${graph.handler}` : ""}`;
    lines.push(`  subgraph cluster_${index} {`, `    label=${quoted(title)};`);
    const captures = new Map<string, string[]>();
    for (const [name, id] of Object.entries(graph.assignments ?? {})) {
      captures.set(id, [...(captures.get(id) ?? []), name]);
    }
    const id = (node: string) => quoted(`${graph.name}/${node}`);
    for (const node of graph.nodes) {
      lines.push(`    ${id(node.id)} [label=${nodeLabel(node, captures.get(node.id) ?? [], colors)}];`);
    }
    for (const node of graph.nodes) {
      for (const input of node.inputs) {
        lines.push(`    ${id(input)} -> ${id(node.id)};`);
      }
    }
    lines.push("  }");
  });
  lines.push("}");
  return lines.join("\n");
}
