// The layout's rules, from the module graph as `deno info` reads it: no two
// modules import each other, ffi/ imports nothing of lib/ but lib/errors/,
// and no module of lib/ imports one of a higher floor (README, Layout).
import assert from "node:assert/strict";
import { ROOT, text } from "./_env.ts";

/** The floors of lib/, bottom up: a folder may import its own and lower. */
const FLOORS: Record<string, number> = {
  errors: 0,
  check: 1,
  system: 1,
  idmap: 2,
  mounts: 2,
  // Coming: pure planning over ffi/, beside idmap/ and mounts/.
  sandbox: 2,
  net: 2,
  command: 3,
  enter: 4,
  pod: 5,
  inspect: 5,
  cli: 6,
};

/** Every local module reachable from the entry points, and its imports. */
function graph(): Map<string, Set<string>> {
  const entries = ["main.ts", "lib/mod.ts", "lib/cli/main.ts"];
  for (const e of Deno.readDirSync(`${ROOT}tools`)) {
    if (e.name.endsWith(".ts")) entries.push(`tools/${e.name}`);
  }
  const edges = new Map<string, Set<string>>();
  const local = (s: string | undefined) =>
    s?.startsWith(`file://${ROOT}`)
      ? s.slice(`file://${ROOT}`.length)
      : undefined;
  for (const entry of entries) {
    const out = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `${ROOT}${entry}`],
    }).outputSync();
    assert.ok(out.success, text(out.stderr));
    const info = JSON.parse(text(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: {
          code?: { specifier: string };
          type?: { specifier: string };
        }[];
      }[];
    };
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (!from) continue;
      const deps = edges.get(from) ?? new Set();
      for (const d of m.dependencies ?? []) {
        for (const to of [local(d.code?.specifier), local(d.type?.specifier)]) {
          if (to) deps.add(to);
        }
      }
      edges.set(from, deps);
    }
  }
  return edges;
}

const edges = graph();

Deno.test("no two modules import each other, through any path", () => {
  // Tarjan's strongly connected components: any with two modules or more
  // is a cycle.
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>(), cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  assert.deepEqual(cycles, []);
  assert.ok(edges.size > 50, `${edges.size} modules`);
});

Deno.test("ffi/ imports nothing of lib/ but lib/errors/", () => {
  const wrong = [...edges].flatMap(([from, to]) =>
    from.startsWith("ffi/")
      ? [...to].filter((t) =>
        t.startsWith("lib/") && !t.startsWith("lib/errors/")
      )
        .map((t) => `${from} -> ${t}`)
      : []
  );
  assert.deepEqual(wrong, []);
});

Deno.test("lib/ imports point down its floors, never up", () => {
  const floor = (path: string) => {
    const folder = path.split("/")[1]!;
    assert.ok(folder in FLOORS, `${path}: a folder the floors do not name`);
    return FLOORS[folder]!;
  };
  const wrong = [...edges].flatMap(([from, to]) =>
    from.startsWith("lib/") && from !== "lib/mod.ts"
      ? [...to].filter((t) =>
        t.startsWith("lib/") && t !== "lib/mod.ts" && floor(t) > floor(from)
      ).map((t) => `${from} -> ${t}`)
      : []
  );
  assert.deepEqual(wrong, []);
});
