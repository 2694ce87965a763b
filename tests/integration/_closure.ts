/**
 * What the child side of a built library runs, read from its disassembly
 * (x86_64, `objdump -d`) and its ELF tables (`readelf`): the call closure
 * of a set of entry points, and what in it would break a child that runs
 * on the runtime's thread state, or a program the kernel started with no
 * dynamic linker and no relocation applied.
 *
 * The closure follows every direct call and jump that leaves a function
 * (tail calls, `.cold` parts, `.constprop`/`.isra`/`.part` clones: they
 * are found by address, not by name) and every function whose address is
 * taken (a `lea` of it: the carrier handed to clone_on). In it, a problem
 * is:
 * - a call or jump into the PLT (lazy binding runs the dynamic linker);
 * - a call or jump through a memory operand at `(%rip)`: the GOT, which
 *   `-fno-plt` calls go through and which the loader fills;
 * - a call through a register, but in the functions allowed to (clone_on
 *   calls what it was given; that function is a root of its own). A jump
 *   through a register is a switch's jump table, within the function;
 * - `%fs:`/`%gs:`: thread-local storage (a stack protector's canary);
 * - a `(%rip)` operand that reads the GOT, the address of a PLT entry, or
 *   an object some dynamic relocation writes into (a pointer the program,
 *   never relocated, would find unrelocated). The object is the symbol
 *   that covers the address, or, for an unnamed one (a string), everything
 *   up to the next symbol or the end of its section.
 *
 * @module
 */
import { text } from "./_env.ts";

/** Where the child's side starts: the cloned children, the program's
 * entry, what the program goes on with, and the carrier's clone. */
export const CHILD_ROOTS: readonly string[] = [
  "child",
  "shared_child",
  "helper_child",
  "uns_entry",
  "uns_program",
  "go",
  "join_main",
  "launch_join",
  "clone_on",
  "carrier",
];

/** The one function that calls through a register: what it was given. */
export const CHILD_CALLERS: readonly string[] = ["clone_on"];

/** One function of the disassembly. */
interface Func {
  name: string;
  start: number;
  lines: { at: number; insn: string }[];
}

interface Section {
  name: string;
  start: number;
  end: number;
}

interface Sym {
  name: string;
  start: number;
  size: number;
}

/** The closure, and what is wrong in it. */
export interface Closure {
  /** Each function reached, with the path it was reached by. */
  reached: Map<string, string[]>;
  /** One line per problem: the function, what, and its path. */
  problems: string[];
}

const EXEC = new Set([
  ".init",
  ".plt",
  ".plt.got",
  ".plt.sec",
  ".text",
  ".fini",
]);
const PLT = new Set([".plt", ".plt.got", ".plt.sec"]);
const GOT = new Set([".got", ".got.plt"]);

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`${cmd}: ${text(out.stderr)}`);
  return text(out.stdout);
}

function functions(lib: string): Func[] {
  const out: Func[] = [];
  let f: Func | undefined;
  for (
    const line of run("objdump", ["-d", "--no-show-raw-insn", lib]).split("\n")
  ) {
    const head = line.match(/^([0-9a-f]+) <(.+)>:$/);
    if (head) {
      out.push(
        f = { name: head[2]!, start: parseInt(head[1]!, 16), lines: [] },
      );
      continue;
    }
    const insn = line.match(/^\s+([0-9a-f]+):\t(.*)$/);
    if (insn && f) f.lines.push({ at: parseInt(insn[1]!, 16), insn: insn[2]! });
  }
  return out.sort((a, b) => a.start - b.start);
}

function sections(lib: string): Section[] {
  const out: Section[] = [];
  for (const line of run("readelf", ["-SW", lib]).split("\n")) {
    const m = line.match(
      /^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/,
    );
    if (!m) continue;
    const start = parseInt(m[2]!, 16);
    if (start) {
      out.push({ name: m[1]!, start, end: start + parseInt(m[3]!, 16) });
    }
  }
  return out;
}

function symbols(lib: string): Sym[] {
  const out: Sym[] = [];
  for (const line of run("readelf", ["-sW", lib]).split("\n")) {
    const m = line.match(
      /^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\w+)\s+\w+\s+\w+\s+\w+\s+(\S+)/,
    );
    if (m && (m[3] === "OBJECT" || m[3] === "NOTYPE" || m[3] === "FUNC")) {
      out.push({ name: m[4]!, start: parseInt(m[1]!, 16), size: Number(m[2]) });
    }
  }
  return out.filter((s) => s.start).sort((a, b) => a.start - b.start);
}

/** The address every dynamic relocation writes to. */
function relocated(lib: string): number[] {
  return [
    ...run("readelf", ["-rW", lib]).matchAll(
      /^([0-9a-f]{8,})\s+[0-9a-f]+\s+R_/gm,
    ),
  ]
    .map((m) => parseInt(m[1]!, 16));
}

/**
 * The call closure of `roots` in the library at `lib`, and its problems.
 *
 * @param lib the built library
 * @param roots the entry points: a name, or its clones (`name.constprop.0`)
 * @param callers the functions that may call through a register
 * @returns what was reached and what is wrong
 */
export function childClosure(
  lib: string,
  roots: readonly string[],
  callers: readonly string[],
): Closure {
  const funcs = functions(lib), secs = sections(lib), syms = symbols(lib);
  const relocs = relocated(lib);
  const sectionOf = (a: number) => secs.find((s) => a >= s.start && a < s.end);
  const funcAt = (a: number) => {
    let found: Func | undefined;
    for (const f of funcs) if (f.start <= a) found = f;
    return found;
  };
  /** The object at address `a`: [start, end). */
  const objectAt = (a: number, sec: Section): [number, number] => {
    const sym = syms.find((s) =>
      s.size > 0 && a >= s.start && a < s.start + s.size
    );
    if (sym) return [sym.start, sym.start + sym.size];
    const next = syms.find((s) => s.start > a && s.start < sec.end);
    return [a, next?.start ?? sec.end];
  };
  const reached = new Map<string, string[]>();
  const problems: string[] = [];
  const queue: Func[] = [];
  const reach = (f: Func, path: string[]) => {
    if (reached.has(f.name)) return;
    reached.set(f.name, [...path, f.name]);
    queue.push(f);
  };
  for (const root of roots) {
    const found = funcs.filter((f) =>
      f.name === root || f.name.startsWith(`${root}.`)
    );
    if (found.length === 0) problems.push(`${root}: no such function`);
    for (const f of found) reach(f, []);
  }
  while (queue.length) {
    const f = queue.shift()!;
    const path = reached.get(f.name)!;
    const problem = (what: string) =>
      problems.push(`${f.name} ${what} (reached by ${path.join(" -> ")})`);
    const end = funcs[funcs.indexOf(f) + 1]?.start ?? Infinity;
    for (const { insn } of f.lines) {
      const m = insn.match(
        /^(?:(?:notrack|bnd|lock|rep|repz|repnz|data16|cs|ds)\s+)*(\S+)\s*(.*)$/,
      );
      const [op, args] = [m?.[1] ?? "", m?.[2] ?? ""];
      const branch = /^(call|jmp|j[a-z]+|loop\w*)$/.test(op);
      if (/%[fg]s:/.test(args)) problem(`uses thread-local storage: ${insn}`);
      if (branch && args.startsWith("*")) {
        if (args.includes("(%rip)")) problem(`calls through the GOT: ${insn}`);
        else if (op === "call" && !callers.includes(f.name.split(".")[0]!)) {
          problem(`calls through a register: ${insn}`);
        }
        continue;
      }
      const direct = branch ? args.match(/^([0-9a-f]+) </) : null;
      const ref = args.includes("(%rip)")
        ? args.match(/# ([0-9a-f]+) </)
        : null;
      const at = direct
        ? parseInt(direct[1]!, 16)
        : ref
        ? parseInt(ref[1]!, 16)
        : NaN;
      if (Number.isNaN(at)) continue;
      const sec = sectionOf(at);
      if (!sec) {
        problem(`refers to ${at.toString(16)}, in no section: ${insn}`);
      } else if (PLT.has(sec.name)) {
        problem(`goes through the PLT: ${insn}`);
      } else if (GOT.has(sec.name)) {
        problem(`reads the GOT: ${insn}`);
      } else if (EXEC.has(sec.name)) {
        const g = funcAt(at);
        if (g && g !== f && (direct ? at < f.start || at >= end : true)) {
          reach(g, path);
        }
      } else if (direct) {
        problem(`jumps into ${sec.name}: ${insn}`);
      } else {
        const [lo, hi] = objectAt(at, sec);
        const r = relocs.find((r) => r < hi && r + 8 > lo);
        if (r !== undefined) {
          problem(
            `reads ${sec.name} at ${
              at.toString(16)
            }, which a relocation writes (at ${r.toString(16)}): ${insn}`,
          );
        }
      }
    }
  }
  return { reached, problems };
}
