// userns's own programs cannot be overwritten from inside (README, "The
// boundary", the runc CVE-2019-5736
// class). userns-init (PID 1 of `run --pid`) and userns-pause (a pod's
// holder) must run from a sealed copy of the library, never from the file a
// later run loads: inside root tries readlink, write and chmod of
// /proc/PID/exe, and, in a pod without a pid namespace, keeps the file open
// through `stop` to write it once the holder is gone. The library file
// (prebuilt, or built into the cache) must stay byte for byte and mode for
// mode what it was, and the next run must load it.
import assert from "node:assert/strict";
import { nsTest } from "./_env.ts";
import {
  type Attacker,
  attackers,
  attackReason,
  moduleCopy,
  placeFor,
  sha256,
} from "./_attack_fs.ts";
import { holders, killAll } from "./_pod.ts";
import { delay } from "./_process.ts";

/** Where the library comes from: a copy of the module with its prebuilt
 * library, or one without, which builds the library into the cache. */
interface Origin {
  /** Says which. */
  label: string;
  /** Copy build/ with the module. */
  prebuilt: boolean;
}

/** The origins each attacker's library comes from: root runs a checkout
 * (prebuilt); the user its own checkout and its own cache. */
function origins(who: Attacker): Origin[] {
  const prebuilt = { label: "a prebuilt library", prebuilt: true };
  if (who.uid === 0) return [prebuilt];
  return [prebuilt, {
    label: "a library built into the cache",
    prebuilt: false,
  }];
}

/** A module copy of the attacker's and how its CLI runs. */
interface Install {
  /** The module copy, and the place of the cache, runtime dir and `out`. */
  dirs: [string, string];
  /** A directory the command may write its findings in. */
  out: string;
  /** Runs the copy's CLI as the attacker. */
  userns: (args: string[]) => ReturnType<Attacker["run"]>;
  /** The library file that the CLI loads (known after its first run). */
  library: string;
}

/** The library file, its mode and its hash. */
interface Fingerprint {
  mode: number;
  uid: number;
  sha: string;
}

async function fingerprint(path: string): Promise<Fingerprint> {
  const st = await Deno.stat(path);
  return { mode: st.mode!, uid: st.uid!, sha: await sha256(path) };
}

/** Installs the module for the attacker and runs it once, which builds the
 * library when it is not prebuilt. */
async function install(who: Attacker, origin: Origin): Promise<Install> {
  const mod = await moduleCopy(who, origin.prebuilt);
  const place = await placeFor(who, "uns-exe-");
  for (const d of ["cache", "run", "out"]) {
    await Deno.mkdir(`${place}/${d}`, { mode: 0o700 });
  }
  if (who.uid !== Deno.uid()) {
    for (const d of ["cache", "run", "out"]) {
      await Deno.chown(`${place}/${d}`, who.uid, null);
    }
  }
  const env = {
    XDG_CACHE_HOME: `${place}/cache`,
    XDG_RUNTIME_DIR: `${place}/run`,
  };
  const userns = (args: string[]) =>
    who.run([Deno.execPath(), "run", "-A", `${mod}/main.ts`, ...args], env);
  const first = await userns(["run", "--", "true"]);
  assert.equal(first.code, 0, `the first run: ${first.stderr}`);
  let library = `${mod}/build/libuserns.so`;
  if (!origin.prebuilt) {
    const built = [...Deno.readDirSync(`${place}/cache/userns`)]
      .filter((e) => /^libuserns-.*\.so$/.test(e.name));
    assert.equal(built.length, 1, "one library in the cache");
    library = `${place}/cache/userns/${built[0]!.name}`;
  }
  return { dirs: [mod, place], out: `${place}/out`, userns, library };
}

function remove(inst: Install): void {
  for (const d of inst.dirs) {
    Deno.removeSync(d, { recursive: true });
  }
}

/** What changed in the library since WAS, and whether the next run loads
 * it; empty when it is what it was. */
async function changes(inst: Install, was: Fingerprint): Promise<string[]> {
  const found: string[] = [];
  const now = await fingerprint(inst.library);
  if (now.mode !== was.mode) {
    found.push(
      `${inst.library}: mode ${was.mode.toString(8)} -> ${
        now.mode.toString(8)
      }`,
    );
  }
  if (now.uid !== was.uid) found.push(`${inst.library}: owner changed`);
  if (now.sha !== was.sha) found.push(`${inst.library}: its bytes changed`);
  const next = await inst.userns(["run", "--", "true"]);
  if (next.code !== 0) {
    found.push(`the next run: exit ${next.code}: ${next.stderr}`);
  }
  return found;
}

/** What the command tries on /proc/PID/exe of userns's program. */
const TRY = (pid: string) =>
  `echo "exe: $(readlink /proc/${pid}/exe)"
echo "comm: $(cat /proc/${pid}/comm)"
(printf pwned >>/proc/${pid}/exe) 2>/dev/null && echo "write: ok" || echo "write: failed"
chmod 4777 /proc/${pid}/exe 2>/dev/null && echo "chmod: ok" || echo "chmod: failed"
(printf pwned >>/proc/${pid}/exe) 2>/dev/null && echo "write after chmod: ok" || echo "write after chmod: failed"`;

/** What the tries' answers show went wrong: PROGRAM must run from
 * elsewhere than the library and every write must fail (a chmod may
 * succeed on a private copy: the library's own mode is checked after). */
function judge(out: string, program: string, inst: Install): string[] {
  const found: string[] = [];
  const exe = out.match(/^exe: (.*)$/m)?.[1] ?? "";
  const comm = out.match(/^comm: (.*)$/m)?.[1];
  if (comm !== program) found.push(`the target is ${comm}, not ${program}`);
  if (exe === inst.library || inst.dirs.some((d) => exe.startsWith(d))) {
    found.push(`${program} runs ${exe}`);
  }
  for (const line of out.split("\n")) {
    if (/^(write|write after chmod): ok$/.test(line)) {
      found.push(`inside root's ${line.replace(": ok", "")} of its exe worked`);
    }
  }
  if (!/^write: /m.test(out)) found.push(`no tries: ${out}`);
  return found;
}

/** Fails with every finding, if any. */
function holds(found: string[], out: string): void {
  if (found.length) {
    throw new Error(`${found.join("\n")}\nwhat the command saw:\n${out}`);
  }
}

nsTest(
  "boundary: inside root cannot change the library through userns-init's /proc/1/exe",
  async (t) => {
    for (const who of attackers()) {
      for (const origin of origins(who)) {
        await t.step(`${origin.label}, as ${who.name}`, async () => {
          const inst = await install(who, origin);
          try {
            const was = await fingerprint(inst.library);
            const out = await inst.userns([
              "run",
              "--mount-proc",
              "--",
              "sh",
              "-c",
              TRY("1"),
            ]);
            assert.equal(out.code, 0, out.stderr);
            holds([
              ...judge(out.stdout, "userns-init", inst),
              ...await changes(inst, was),
            ], out.stdout);
          } finally {
            remove(inst);
          }
        });
      }
    }
  },
  attackReason,
);

/** Inside the pod: holds the holder's file open, tries it, and leaves a
 * process that writes it once the holder has ended (gone, or a zombie:
 * either way its mapping of the file is gone), saying how that went in
 * OUT/late. */
const LATE = (holder: number, out: string) =>
  `${TRY(String(holder))}
command exec 3</proc/${holder}/exe 2>/dev/null || echo "keep: failed"
setsid sh -c 'i=0
while grep -q "^State:[[:space:]]*[^ZX]" /proc/${holder}/status 2>/dev/null &&
  [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
if printf pwned 2>/dev/null >>/proc/self/fd/3; then echo "late write: ok"
else echo "late write: failed"; fi >${out}/late.tmp
mv ${out}/late.tmp ${out}/late' </dev/null >/dev/null 2>&1 &
echo started`;

nsTest(
  "boundary: a pod's process cannot change the library through userns-pause's exe, during or after stop",
  async (t) => {
    for (const who of attackers()) {
      for (const origin of origins(who)) {
        await t.step(`${origin.label}, as ${who.name}`, async () => {
          const inst = await install(who, origin);
          const name = `t${Deno.pid}-exe-${who.name}-${+origin.prebuilt}`;
          const out = inst.out;
          try {
            const was = await fingerprint(inst.library);
            const start = await inst.userns(["start", name]);
            assert.equal(start.code, 0, start.stderr);
            const [holder] = holders(name);
            assert.ok(holder, "the holder runs");
            const tried = await inst.userns([
              "run",
              "--in",
              name,
              "--",
              "sh",
              "-c",
              LATE(holder, out),
            ]);
            assert.equal(tried.code, 0, tried.stderr);
            assert.match(tried.stdout, /^started$/m);
            const found = judge(tried.stdout, "userns-pause", inst);
            const stop = await inst.userns(["stop", name]);
            assert.equal(stop.code, 0, stop.stderr);
            let late = "";
            for (let i = 0; i < 200 && !late; i++) {
              await delay(100);
              late = await Deno.readTextFile(`${out}/late`).catch(() => "");
            }
            if (late !== "late write: failed\n") {
              found.push(`after stop, through the fd kept: ${late.trim()}`);
            }
            holds([...found, ...await changes(inst, was)], tried.stdout);
          } finally {
            killAll(holders(name));
            remove(inst);
          }
        });
      }
    }
  },
  attackReason,
);
