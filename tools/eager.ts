/**
 * Start-up hints in the CLI's bundle. V8 compiles a function when it is
 * first called, and Deno's code cache holds only what was compiled before
 * the module ran: without hints, every process compiles again each function
 * a `userns run` calls. V8 compiles a function expression in parentheses at
 * once (its "PIFE" heuristic), and the cache then keeps it. So the build
 * runs the bundle once under `--coverage`, and wraps the top-level functions
 * that run called: a declaration `function f(){}` becomes
 * `var f=(function f(){});`, a module's body `l(()=>{...})` becomes
 * `l((function(){...}))`. Nothing else changes; the build runs the result
 * to prove it, and keeps the plain bundle if anything fails.
 *
 * @module
 */

/** The parts of an ESTree node this module reads (acorn's output). */
interface Node {
  type: string;
  start: number;
  end: number;
  id?: Node & { name: string };
  async?: boolean;
  params?: Node[];
  body?: Node | Node[];
  declarations?: Node[];
  init?: Node | null;
  arguments?: Node[];
}

/** A parser of ECMAScript modules: acorn's `parse`. */
export type Parse = (
  text: string,
  options: { ecmaVersion: "latest"; sourceType: "module" },
) => unknown;

/**
 * The functions of `url` that ran, from a directory written by
 * `deno run --coverage=DIR`: each as "start:end", its offsets in the file.
 *
 * @param dir the coverage directory
 * @param url the file's URL
 * @returns the ranges of the functions called at least once
 */
export function calledFunctions(dir: string, url: string): Set<string> {
  const called = new Set<string>();
  for (const entry of Deno.readDirSync(dir)) {
    const data = JSON.parse(Deno.readTextFileSync(`${dir}/${entry.name}`)) as {
      url: string;
      functions: {
        ranges: { startOffset: number; endOffset: number; count: number }[];
      }[];
    };
    if (data.url !== url) continue;
    for (const { ranges: [whole] } of data.functions) {
      if (whole && whole.count > 0) {
        called.add(`${whole.startOffset}:${whole.endOffset}`);
      }
    }
  }
  return called;
}

/**
 * Wraps the called top-level functions of a bundle in parentheses, as the
 * module's comment says. An arrow that reads `this` or `arguments` is left
 * as it is: a function would read its own.
 *
 * @param js the bundle
 * @param called "start:end" of the functions to compile at once
 * @param parse acorn's `parse`
 * @returns the bundle with its hints, and how many functions were marked
 */
export function markEager(
  js: string,
  called: Set<string>,
  parse: Parse,
): { js: string; marked: number } {
  const program = parse(js, {
    ecmaVersion: "latest",
    sourceType: "module",
  }) as Node;
  const edits: { at: number; cut: number; text: string }[] = [];
  const ran = (n: Node) => called.has(`${n.start}:${n.end}`);
  for (const statement of program.body as Node[]) {
    if (statement.type === "FunctionDeclaration" && ran(statement)) {
      edits.push({
        at: statement.start,
        cut: 0,
        text: `var ${statement.id!.name}=(`,
      });
      edits.push({ at: statement.end, cut: 0, text: ");" });
    }
    if (statement.type !== "VariableDeclaration") continue;
    for (const { init } of statement.declarations!) {
      const body =
        init?.type === "CallExpression" && init.arguments!.length === 1
          ? init.arguments![0]!
          : undefined;
      if (
        body?.type !== "ArrowFunctionExpression" || body.async ||
        body.params!.length !== 0 ||
        (body.body as Node).type !== "BlockStatement" ||
        !ran(body) ||
        /\b(this|arguments)\b/.test(js.slice(body.start, body.end))
      ) continue;
      const block = (body.body as Node).start;
      edits.push({
        at: body.start,
        cut: block - body.start,
        text: "(function()",
      });
      edits.push({ at: body.end, cut: 0, text: ")" });
    }
  }
  // From the end, so that each offset still holds; at one offset, the
  // closing ");" of a function goes before the opening of the next.
  edits.sort((a, b) => b.at - a.at || (a.text.startsWith(")") ? 1 : -1));
  let out = js;
  for (const { at, cut, text } of edits) {
    out = out.slice(0, at) + text + out.slice(at + cut);
  }
  return { js: out, marked: edits.length / 2 };
}
