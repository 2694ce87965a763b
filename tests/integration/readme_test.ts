// Every example in the README runs, and says what its comments promise:
// each `sh` block under bash with `userns` as the CLI from this checkout,
// each `ts` block as a program importing this checkout's lib/mod.ts.
// (`shell` blocks are installation steps, `text` blocks are synopses: neither
// is an example.)
//
// A promise is a comment after a command (`userns ... # box`), comment lines
// right under one (its output), or a comment after a `console.log(...)`.
// Each has its check in PROMISES below, keyed by the command or the
// comment: a new one in the README fails this test until it has one.
import assert from "node:assert/strict";
import { type IdMapping, rangesFor, readSubIdFileSync } from "../../lib/mod.ts";
import { ID, MAIN, nsTest, PRIVILEGED, ROOT, text } from "./_env.ts";

const README = Deno.readTextFileSync(`${ROOT}README.md`);
const blocks = [...README.matchAll(/^```(sh|ts)\n([\s\S]*?)^```$/gm)].map((
  m,
) => ({
  lang: m[1]!,
  code: m[2]!,
  line: README.slice(0, m.index).split("\n").length,
}));

/** What one promising command of an `sh` block did. */
interface Ran {
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
  /** Its exit status. */
  code: number;
  /** The promised output: the comment lines under it, if any. */
  promised: string[];
}

/** A check of what a promise says, given what ran. */
type ShCheck = (ran: Ran) => void;
/** A check of what a `console.log()` printed: its arguments. */
type TsCheck = (args: unknown[]) => void;

/** The uid map `auto` makes for the caller, as the kernel prints it. */
function autoUidMap(): string[] {
  const ranges = rangesFor(readSubIdFileSync("/etc/subuid"), {
    name: ID.name,
    uid: ID.uid,
  });
  const lines: IdMapping[] = PRIVILEGED && ranges.length === 0
    ? [{ inner: 0, outer: 0, count: 4294967295 }]
    : [{ inner: 0, outer: ID.uid, count: 1 }];
  let inner = 1;
  for (const r of ranges) {
    lines.push({ inner, outer: r.start, count: r.count });
    inner += r.count;
  }
  const pad = (n: number) => String(n).padStart(10);
  return lines.map((m) => `${pad(m.inner)} ${pad(m.outer)} ${pad(m.count)}`);
}

/** A promised line with `(...)` for what varies, as a RegExp. */
function pattern(line: string): RegExp {
  const parts = line.split("(...)").map((p) =>
    p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${parts.join(".*")}$`);
}

const lines = (s: string) => s.trimEnd().split("\n");

/** The checks of the `sh` blocks' promises, by command. */
const SH: Record<string, ShCheck> = {
  "userns run -- sh -c 'id -u; cat /proc/self/uid_map'": (r) => {
    // The README shows nsuser's: its own id as 0, then its two ranges.
    assert.deepEqual(
      r.promised.map((l) => l.replace(/^#( |$)/, "")),
      [
        "0",
        "         0       1001          1",
        "         1     200000      65536",
        "     65537     400000      65536",
      ],
    );
    assert.deepEqual(lines(r.stdout), ["0", ...autoUidMap()]);
  },
  "deno run --allow-read --allow-sys=uid,gid main.ts run -- true || true": (
    r,
  ) => {
    assert.equal(r.promised.length, 1);
    assert.match(r.stderr.trimEnd(), pattern(r.promised[0]!.slice(2)));
  },
  "userns run -- id": (r) => assert.match(r.stdout, /^uid=0\(root\) gid=0\(/),
  "userns run --map root -- cat /proc/self/uid_map": (r) =>
    assert.deepEqual(lines(r.stdout).map((l) => l.trim().split(/\s+/)), [[
      "0",
      String(ID.uid),
      "1",
    ]]),
  "userns run --env GREETING=hi --clear-env -- /usr/bin/env": (r) =>
    assert.deepEqual(lines(r.stdout).sort(), [
      "GREETING=hi",
      "_CONTAINERS_ROOTLESS_GID=" + ID.gid,
      "_CONTAINERS_ROOTLESS_UID=" + ID.uid,
      "_CONTAINERS_USERNS_CONFIGURED=done",
    ]),
  "userns run --user 1000 --group 1000 -- id": (r) =>
    assert.match(r.stdout, /^uid=1000\b.* gid=1000\b/),
  "userns run --pid --mount-proc -- ps -o pid,comm": (r) =>
    assert.match(r.stdout, /^\s*1 userns-init$/m),
  "userns run --hostname box --net -- sh -c 'hostname; ip -brief link'": (r) =>
    assert.match(r.stdout, /^box\nlo +UNKNOWN /),
  'userns run --sandbox -- sh -c \'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; touch ./ok ~/no 2>&1 | grep -o "Read-only file system"\'':
    (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        lines(r.stdout),
        r.promised.map((l) => l.replace(/^# /, "")),
      );
    },
  "ls": (r) => assert.equal(r.stdout, "ok\n"),
  "userns run --network pasta -- sh -c 'ip -brief link show eth0 | cut -d\" \" -f1; cat /etc/resolv.conf'":
    (r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        lines(r.stdout),
        r.promised.map((l) => l.replace(/^# /, "")),
      );
    },
  'userns enter "$(cat "$pidfile")" -- hostname': (r) =>
    assert.equal(r.stdout, "box\n"),
  "userns start --pid --mount-proc demo": (r) =>
    // The probe after it: ps shows the holder.
    assert.match(r.stdout, /^userns-pause demo$/m),
  "userns run --in demo -- cat /mnt/f": (r) => assert.equal(r.stdout, "kept\n"),
  "userns enter demo -- ps -o pid,comm": (r) =>
    assert.match(r.stdout, /^\s*1 userns-pause$/m),
  "userns ls": (r) => {
    assert.match(
      r.stdout,
      /^NAME +PID +NAMESPACES +UID MAP +PROCESSES +CREATED$/m,
    );
    assert.match(r.stdout, /^demo +\d+ /m);
  },
  "userns stop demo": (r) =>
    // The probe after it: no process of the pod is left.
    assert.doesNotMatch(r.stdout, /userns-pause demo/),
  "userns subids": (r) => {
    assert.equal(r.code, 0, r.stderr);
    if (!PRIVILEGED) assert.match(r.stdout, /\b200000\b/);
  },
  "userns subids --json root": (r) => {
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.user, j.uid], ["root", 0]);
    assert.ok(Array.isArray(j.subuid) && Array.isArray(j.subgid), r.stdout);
  },
  "userns subids --suggest": (r) =>
    assert.match(
      r.stdout,
      /^usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ \S+\n$/,
    ),
  "userns subids --check": (r) => {
    for (const l of r.stdout ? lines(r.stdout) : []) {
      assert.match(l, /^\/etc\/sub[ug]id:\d+: /);
    }
  },
  "userns maps": (r) =>
    assert.match(r.stdout, /^uid +\d+.*\ngid +\d+.*\nsetgroups (allow|deny)$/m),
  "userns doctor": (r) => {
    assert.ok(r.stdout.length > 0);
    for (const l of lines(r.stdout).filter((l) => !l.startsWith(" "))) {
      assert.match(l, /^(ok|warn|fail) +\S/);
    }
  },
  "userns ps": (r) =>
    assert.match(r.stdout, /^NS +OWNER +PID +PROCS +UID MAP$/m),
};

/** Shell commands run right after a command, their output added to its:
 * promises about what is seen then rather than what it printed. */
const PROBES: Record<string, string> = {
  "userns start --pid --mount-proc demo": "ps -eo args",
  "userns stop demo": "ps -eo args",
};

/** The checks of the `ts` blocks' promises, by comment. */
const TS: Record<string, TsCheck> = {
  '0 "0\\n": inside root': (a) => assert.deepEqual(a, [0, "0\n"]),
  "before the command runs": (a) => {
    assert.equal(a[0], "maps written for");
    assert.ok(Number.isInteger(a[1]) && (a[1] as number) > 0);
  },
  "host pid, valid at once": (a) =>
    assert.ok(Number.isInteger(a[0]) && (a[0] as number) > 0, String(a[0])),
  '"hello\\n"': (a) => assert.deepEqual(a, ["hello\n"]),
  "{ success: true, code: 0, signal: null }": (a) =>
    assert.deepEqual(a, [{ success: true, code: 0, signal: null }]),
  '{ success: false, code: 143, signal: "SIGTERM" }': (a) =>
    assert.deepEqual(a, [{ success: false, code: 143, signal: "SIGTERM" }]),
  "true EXEC_NOT_FOUND": (a) => assert.deepEqual(a, [true, "EXEC_NOT_FOUND"]),
  '"hi\\n"': (a) => assert.deepEqual(a, ["hi\n"]),
  '"0 1000 1\\n1 100000 65536\\n65537 300000 10\\n"': (a) =>
    assert.deepEqual(a, ["0 1000 1\n1 100000 65536\n65537 300000 10\n"]),
};

// `userns` is a script on PATH, not a shell function, so that `kill %1`
// reaches it (a function in the background is a subshell, whose kill leaves
// its deno running): it passes a signal on to the CLI. The reporting
// commands exit 1 for "problems found", which is an answer, not a failure
// of the example; anything else must exit 0.
const BIN = Deno.makeTempDirSync({ prefix: "userns-readme-" });
Deno.writeTextFileSync(
  `${BIN}/userns`,
  `#!/bin/bash
"${Deno.execPath()}" run -A "${MAIN}" "$@" & pid=$!
trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP
rc=0; wait $pid || rc=$?
while kill -0 $pid 2>/dev/null; do rc=0; wait $pid || rc=$?; done
case "$1:$rc" in *:0|subids:1|maps:1|doctor:1|ps:1) exit 0;; esac
echo "README example failed: userns $* exited $rc" >&2; exit 1
`,
);
Deno.chmodSync(`${BIN}/userns`, 0o755);
globalThis.addEventListener("unload", () => {
  Deno.removeSync(BIN, { recursive: true });
});

const SHELL_PRELUDE = `
export PATH="${BIN}:$PATH"
# Runs a command of the example between markers on both streams.
__promise() {
  local n=$1 rc=0; shift
  echo "@@begin $n"; echo "@@begin $n" >&2
  "$@" || rc=$?
  echo "@@end $n $rc"; echo "@@end $n" >&2
  return $rc
}
cd "${ROOT}"
set -e
`;

/** The promises of an `sh` block: each command line that carries a comment
 * or has comment lines under it, by its line in the block. */
function shPromises(code: string) {
  const src = code.split("\n");
  const found: { at: number; command: string; promised: string[] }[] = [];
  src.forEach((l, i) => {
    if (l.startsWith("#") || l.trim() === "") return;
    const trailing = /^(.*?\S)\s+#\s.*$/.exec(l);
    const promised: string[] = [];
    for (let j = i + 1; j < src.length && src[j]!.startsWith("#"); j++) {
      promised.push(src[j]!);
    }
    if (trailing || promised.length) {
      found.push({ at: i, command: trailing?.[1] ?? l.trim(), promised });
    }
  });
  return found;
}

/** The block with each promising command wrapped in markers. */
function instrumentSh(code: string): string {
  const src = code.split("\n");
  for (const p of shPromises(code)) {
    const probe = PROBES[p.command];
    src[p.at] = `__promise ${p.at} eval ${shQuote(p.command)}` +
      (probe ? `; __promise ${p.at} eval ${shQuote(probe)}` : "");
  }
  return src.join("\n").replaceAll(/^deno run /gm, `"${Deno.execPath()}" run `)
    .replaceAll(/eval 'deno run /g, `eval '"${Deno.execPath()}" run `);
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** What ran between the markers of line `at`, on one stream. */
function between(out: string, at: number): string {
  let s = "";
  const re = new RegExp(
    `^@@begin ${at}\\n([\\s\\S]*?)^@@end ${at}\\b.*\\n`,
    "gm",
  );
  for (const m of out.matchAll(re)) s += m[1];
  return s;
}

/** The block with each promising `console.log(` recording its arguments. */
function instrumentTs(code: string): string {
  const src = code.split("\n").map((l, i) =>
    /console\.log\(.*\/\/ /.test(l)
      ? l.replace("console.log(", `__promise(${i}, `)
      : l
  );
  return src.join("\n") + `
function __promise(at: number, ...args: unknown[]): void {
  console.log(\`@@\${at} \${JSON.stringify(args)}\`);
}
`;
}

function tsPromises(code: string): Map<number, string> {
  const found = new Map<number, string>();
  code.split("\n").forEach((l, i) => {
    const m = /console\.log\(.*\/\/ (.*)$/.exec(l);
    if (m) found.set(i, m[1]!);
  });
  return found;
}

Deno.test("the README has examples of every subcommand and of the library", () => {
  const sh = blocks.filter((b) => b.lang === "sh").map((b) => b.code).join(
    "\n",
  );
  for (const sub of ["run", "enter", "subids", "maps", "doctor", "ps"]) {
    assert.match(sh, new RegExp(`^userns ${sub}\\b`, "m"), sub);
  }
  assert.ok(blocks.some((b) => b.lang === "ts"));
});

Deno.test("every promise in the README's examples has its check here, and every check its promise", () => {
  const seen = new Set<string>();
  for (const b of blocks) {
    const keys = b.lang === "sh"
      ? shPromises(b.code).map((p) => p.command)
      : [...tsPromises(b.code).values()];
    const table = b.lang === "sh" ? SH : TS;
    for (const k of keys) {
      assert.ok(k in table, `README line ${b.line}: no check of "${k}"`);
      seen.add(k);
    }
  }
  for (const k of [...Object.keys(SH), ...Object.keys(TS)]) {
    assert.ok(seen.has(k), `no README promise "${k}" any more`);
  }
});

for (const b of blocks) {
  nsTest(`README example at line ${b.line} (${b.lang})`, async () => {
    let out: Deno.CommandOutput;
    if (b.lang === "sh") {
      out = await new Deno.Command("bash", {
        args: ["-c", SHELL_PRELUDE + instrumentSh(b.code)],
        stdin: "null",
      }).output();
    } else {
      const file = Deno.makeTempFileSync({ suffix: ".ts" });
      Deno.writeTextFileSync(
        file,
        instrumentTs(b.code).replaceAll(
          '"./lib/mod.ts"',
          `"${ROOT}lib/mod.ts"`,
        ),
      );
      out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", file],
        stdin: "null",
      }).output();
      Deno.removeSync(file);
    }
    const stdout = text(out.stdout), stderr = text(out.stderr);
    assert.equal(out.code, 0, `${stdout}\n${stderr}`);
    if (b.lang === "sh") {
      for (const p of shPromises(b.code)) {
        const end = new RegExp(`^@@end ${p.at} (\\d+)$`, "m").exec(stdout);
        SH[p.command]!({
          stdout: between(stdout, p.at),
          stderr: between(stderr, p.at),
          code: Number(end?.[1] ?? -1),
          promised: p.promised,
        });
      }
    } else {
      for (const [at, comment] of tsPromises(b.code)) {
        const m = new RegExp(`^@@${at} (.*)$`, "m").exec(stdout);
        assert.ok(m, `line ${b.line + 1 + at} printed nothing:\n${stdout}`);
        TS[comment]!(JSON.parse(m[1]!));
      }
    }
  });
}
