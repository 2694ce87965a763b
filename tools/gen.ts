/**
 * `deno task gen`: the two files of `ffi/` made from `c/`, never by hand.
 *
 * - `ffi/library/source.ts`: the C sources as text, so that a module imported by URL
 *   or path can build its native part ({@link sourceModule}).
 * - `ffi/abi.ts`: the numbers shared with `c/userns.h` (its enums and
 *   `#define`s: option and out slots, events, stdio modes, mount kinds and
 *   flags, set-up steps, operations, the ABI version), with the header's
 *   comments ({@link abiModule}).
 *
 * `tests/unit/gen_test.ts` fails when either differs from what this makes
 * of `c/`.
 *
 * @module
 */

/**
 * The C files, in `c/` and in `ffi/library/source.ts`: every header, `userns.h`
 * first, then every `.c` file, each group by name. A file added to `c/` is
 * built and shipped without a list to update.
 *
 * @param cDir the `c/` directory
 * @returns the file names
 */
export function sourceFiles(cDir: string): string[] {
  const names = [...Deno.readDirSync(cDir)].filter((e) => e.isFile)
    .map((e) => e.name);
  const headers = names.filter((n) => n.endsWith(".h")).sort((a, b) =>
    a === "userns.h" ? -1 : b === "userns.h" ? 1 : a < b ? -1 : 1
  );
  const units = names.filter((n) => n.endsWith(".c")).sort();
  return [...headers, ...units];
}

/**
 * Reads the sources from a `c/` directory.
 *
 * @param cDir the directory
 * @returns file name to text, in the order of {@link sourceFiles}
 */
export function readSources(cDir: string): Record<string, string> {
  return Object.fromEntries(
    sourceFiles(cDir).map((n) => [n, Deno.readTextFileSync(`${cDir}/${n}`)]),
  );
}

/**
 * The text of `ffi/library/source.ts` for the given sources.
 *
 * @param sources file name to text
 * @returns a TypeScript module exporting them as `SOURCES`
 */
export function sourceModule(sources: Record<string, string>): string {
  const entries = Object.entries(sources).map(([name, text]) =>
    `  ${JSON.stringify(name)}:\n    ${JSON.stringify(text)},\n`
  );
  return "// Generated from c/ by `deno task gen` (tools/gen.ts): do not edit.\n" +
    "// tests/unit/gen_test.ts fails when it differs from c/.\n\n" +
    "/** The native library's C sources, by file name, for building it from a module\n" +
    " * imported by URL or path. */\n" +
    `export const SOURCES: Readonly<Record<string, string>> = {\n${
      entries.join("")
    }};\n`;
}

/** How one enum of `userns.h` appears in `ffi/abi.ts`. */
interface EnumMap {
  /** Its name in TypeScript. */
  ts: string;
  /** The prefix its members' C names share, dropped in TypeScript. */
  prefix: string;
  /** Member names in lower case (they are values of an option). */
  lower?: boolean;
  /** What it is, when the header says nothing above it. */
  doc?: string;
  /** A last member that counts the others under another prefix: its C
   * name, and the constant it becomes. */
  count?: [c: string, ts: string];
}

/** The enums of `userns.h`, by C name. One missing here fails the build. */
const ENUMS: Record<string, EnumMap> = {
  uns_opt: { ts: "Opt", prefix: "UNS_OPT_" },
  uns_mount_slot: {
    ts: "MountSlot",
    prefix: "UNS_M_",
    count: ["UNS_MOUNT_SLOTS", "MOUNT_SLOTS"],
  },
  uns_mount: {
    ts: "MountKind",
    prefix: "UNS_MNT_",
    lower: true,
    doc: "Mount operation kinds.",
  },
  uns_stdio: {
    ts: "Stdio",
    prefix: "UNS_STDIO_",
    lower: true,
    doc: "How each of fds 0-2 is set up.",
  },
  uns_out: { ts: "Out", prefix: "UNS_OUT_" },
  uns_proc: { ts: "Proc", prefix: "UNS_PROC_" },
  uns_helper_out: { ts: "HelperOut", prefix: "UNS_HOUT_" },
  uns_event_slot: {
    ts: "EventSlot",
    prefix: "UNS_E_",
    count: ["UNS_EV_SLOTS", "EV_SLOTS"],
  },
  uns_event: { ts: "Event", prefix: "UNS_EV_", doc: "Event kinds." },
  uns_step: { ts: "Step", prefix: "UNS_STEP_" },
  uns_call: { ts: "Call", prefix: "UNS_CALL_" },
};

/**
 * The numeric `#define`s of `userns.h`, by C name: the constant they become
 * (or a key of an object: `MountFlag.RDONLY`), and what it is when the header
 * says nothing beside it. One missing here fails the build.
 */
const DEFINES: Record<string, [ts: string, doc?: string]> = {
  UNS_ABI_VERSION: [
    "ABI_VERSION",
    "The ABI version the native library must report.",
  ],
  UNS_MAX_MOUNTS: ["MAX_MOUNTS", "Mount operations one spawn takes at most."],
  UNS_RLIMIT_SLOTS: ["RLIMIT_SLOTS"],
  UNS_MAX_FILTERS: ["MAX_FILTERS", "Seccomp programs one spawn takes at most."],
  UNS_MAX_INSNS: ["MAX_INSNS", "Seccomp instructions one spawn takes at most."],
  UNS_GO: ["GO", "The byte that releases a paused child."],
  UNS_MNT_RDONLY: ["MountFlag.RDONLY"],
  UNS_MNT_MKDIR: ["MountFlag.MKDIR"],
  UNS_MNT_MKFILE: ["MountFlag.MKFILE"],
  UNS_MNT_LATE: ["MountFlag.LATE"],
};

/** The name a set-up step is reported by (`SpawnError.step`), where it is
 * not its C name in lower case with dashes. */
const STEP_NAMES: Record<string, string> = { OOM: "oom-score-adj" };

/** One constant of the header: its C name, value and comment. */
interface Constant {
  name: string;
  value: number;
  doc?: string;
}

/** One enum of the header, with the comment above it. */
interface CEnum {
  name: string;
  doc?: string;
  members: Constant[];
}

/** The text of a C comment, its `*` margins and spaces taken away. */
function commentText(c: string): string {
  return c.replace(/^\/\*+/, "").replace(/\*\/$/, "").split("\n")
    .map((l) => l.replace(/^\s*\*?\s?/, "").trim()).filter((l) => l)
    .join(" ");
}

/** A value: a number, a character, or NAME [+ N] of one known already. */
function evaluate(
  expr: string,
  known: ReadonlyMap<string, number>,
  what: string,
): number {
  const e = expr.trim();
  const char = /^'(.)'$/.exec(e);
  if (char) return char[1]!.charCodeAt(0);
  if (/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(e)) return Number(e);
  const sum = /^([A-Z_][A-Z0-9_]*)\s*\+\s*([0-9]+)$/.exec(e);
  const ref = sum?.[1] ?? (/^[A-Z_][A-Z0-9_]*$/.test(e) ? e : undefined);
  const base = ref === undefined ? undefined : known.get(ref);
  if (base === undefined) {
    throw new Error(`userns.h: cannot evaluate ${what} = ${e}`);
  }
  return base + Number(sum?.[2] ?? 0);
}

/** The members of an enum body, each with its trailing comment. */
function members(
  body: string,
  known: Map<string, number>,
  enumName: string,
): Constant[] {
  const out: Constant[] = [];
  let next = 0;
  const token = /\/\*[\s\S]*?\*\/|([A-Z_][A-Z0-9_]*)(\s*=\s*([^,/}]+))?/g;
  for (const m of body.matchAll(token)) {
    if (m[0].startsWith("/*")) {
      const last = out.at(-1);
      if (last) last.doc = commentText(m[0]);
      continue;
    }
    const value = m[3] === undefined
      ? next
      : evaluate(m[3], known, `${enumName}.${m[1]}`);
    known.set(m[1]!, value);
    out.push({ name: m[1]!, value });
    next = value + 1;
  }
  return out;
}

/**
 * The enums and numeric `#define`s of `userns.h`, with their comments.
 *
 * @param header the text of `userns.h`
 * @returns the enums, and the defines by name
 */
export function parseHeader(
  header: string,
): { enums: CEnum[]; defines: Constant[] } {
  const known = new Map<string, number>();
  const enums: CEnum[] = [];
  const defines: Constant[] = [];
  const item =
    /(\/\*(?:[^*]|\*(?!\/))*\*\/)?\s*(?:enum\s+([a-z_]+)\s*\{([\s\S]*?)\};|#define\s+(UNS_[A-Z0-9_]+)[ \t]+([^\n]*))/g;
  for (const m of header.matchAll(item)) {
    const above = m[1] === undefined ? undefined : commentText(m[1]);
    if (m[2] !== undefined) {
      enums.push({
        name: m[2],
        doc: above,
        members: members(m[3]!, known, m[2]),
      });
      continue;
    }
    const trailing = /\/\*([\s\S]*?)\*\//.exec(m[5]!);
    const value = m[5]!.replace(/\/\*[\s\S]*$/, "").trim();
    if (!/^('.'|0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) continue; // a macro
    const n = evaluate(value, known, m[4]!);
    known.set(m[4]!, n);
    defines.push({
      name: m[4]!,
      value: n,
      doc: trailing ? commentText(trailing[0]) : above,
    });
  }
  return { enums, defines };
}

/** A JSDoc line or block, indented. */
function jsdoc(text: string | undefined, indent: string): string {
  if (!text) return "";
  const words = text.replaceAll("*/", "* /").split(" ");
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && indent.length + 4 + line.length + 1 + w.length > 78) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  lines.push(line);
  if (lines.length === 1 && indent.length + lines[0]!.length + 7 <= 80) {
    return `${indent}/** ${lines[0]} */\n`;
  }
  return `${indent}/**\n${
    lines.map((l) => `${indent} * ${l}`).join("\n")
  }\n${indent} */\n`;
}

function stepName(member: string): string {
  return STEP_NAMES[member] ?? member.toLowerCase().replaceAll("_", "-");
}

/**
 * The text of `ffi/abi.ts` for a `userns.h`.
 *
 * @param header the text of `userns.h`
 * @returns the module
 * @throws {Error} for an enum or define that has no name here, or a value
 * it cannot evaluate: the header and this generator must change together
 */
export function abiModule(header: string): string {
  const { enums, defines } = parseHeader(header);
  let out =
    "// Generated from c/userns.h by `deno task gen` (tools/gen.ts): do not\n" +
    "// edit. tests/unit/gen_test.ts fails when it differs from c/userns.h.\n\n" +
    "/**\n * The numbers shared with the native library (`c/userns.h`): option,\n" +
    " * out and event slots, stdio modes, mount kinds and flags, set-up steps,\n" +
    " * operations. A change of any is a change of {@link ABI_VERSION}.\n *\n" +
    " * @module\n */\n";
  const objects = new Map<string, Constant[]>();
  for (const d of defines) {
    const [ts, fallback] = DEFINES[d.name] ?? [];
    if (ts === undefined) {
      throw new Error(
        `userns.h: #define ${d.name} has no name in tools/gen.ts`,
      );
    }
    const [object, key] = ts.split(".");
    if (key !== undefined) {
      objects.set(object!, [
        ...(objects.get(object!) ?? []),
        { ...d, name: key },
      ]);
      continue;
    }
    out += `\n${
      jsdoc(fallback ?? d.doc, "")
    }export const ${ts} = ${d.value};\n`;
  }
  for (const [name, list] of objects) {
    out +=
      `\n/** ${name} (\`#define\`s of userns.h). */\nexport const ${name} = {\n`;
    for (const c of list) {
      out += `${jsdoc(c.doc, "  ")}  ${c.name}: ${c.value},\n`;
    }
    out += "} as const;\n";
  }
  for (const e of enums) {
    const map = ENUMS[e.name];
    if (map === undefined) {
      throw new Error(`userns.h: enum ${e.name} has no name in tools/gen.ts`);
    }
    let list = e.members;
    const last = list.at(-1);
    if (map.count && last?.name === map.count[0]) {
      list = list.slice(0, -1);
      out += `\n/** Int32 slots of one ${map.ts} entry (${last.name}). */\n` +
        `export const ${map.count[1]} = ${last.value};\n`;
    }
    out += `\n${jsdoc(`\`enum ${e.name}\`: ${e.doc ?? map.doc}`, "")}` +
      `export const ${map.ts} = {\n`;
    for (const c of list) {
      if (!c.name.startsWith(map.prefix)) {
        throw new Error(`userns.h: ${e.name}.${c.name} lacks ${map.prefix}`);
      }
      const key = c.name.slice(map.prefix.length);
      out += `${jsdoc(c.doc, "  ")}  ${
        map.lower ? key.toLowerCase() : key
      }: ${c.value},\n`;
    }
    out += "} as const;\n";
    if (e.name === "uns_step") {
      const names: string[] = [];
      for (const c of list) {
        names[c.value] = stepName(c.name.slice(map.prefix.length));
      }
      out +=
        "\n/** The set-up steps by number, as `SpawnError.step` names them. */\n" +
        "export const STEPS: readonly string[] = [\n" +
        Array.from(names, (n) => `  ${JSON.stringify(n ?? "")},\n`).join("") +
        "];\n";
    }
  }
  return out;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const sources = readSources(`${root}c`);
  Deno.writeTextFileSync(`${root}ffi/library/source.ts`, sourceModule(sources));
  Deno.writeTextFileSync(`${root}ffi/abi.ts`, abiModule(sources["userns.h"]!));
}
