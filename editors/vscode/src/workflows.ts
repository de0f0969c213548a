// Workflow names of a document, for commands started from the palette rather than from a code lens.
// No `vscode` import: unit-tested under plain Node.

const DECLARATION = /^workflow[ \t]+([A-Za-z_][A-Za-z0-9_]*)/gm;

/** The names of the workflows declared in `text`, in order (declarations start in column 0). */
export function workflowNames(text: string): string[] {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, " "));
  return [...withoutComments.matchAll(DECLARATION)].map((match) => match[1]);
}
