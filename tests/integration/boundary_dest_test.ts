// Mount destinations stay inside `--root` (README, "The boundary":
// destinations stay inside the new root). The attacker owns the
// rootfs: its links lead a destination through a magic link
// (`/proc/self/fd/N`, `/proc/1/root`, `/proc/self/cwd`), `..` or an absolute
// path towards a victim directory on the host. Whatever the link, nothing
// may be created or mounted on the host; a magic link is refused (exit 125,
// one line naming the destination); bwrap runs side by side on the same
// rootfs, and what it refuses, userns refuses.
import { nsTest } from "./_env.ts";
import {
  type Attacker,
  attackers,
  attackReason,
  attackRootfs,
  giveTo,
  hostMounts,
  notRefused,
} from "./_attack_fs.ts";
import {
  bwrap,
  bwrapReason,
  listing,
  type Ran,
  removeRootfs,
  type Rootfs,
  rootfsReason,
} from "./_rootfs.ts";

/** The fds a child may hold while it mounts: the pipes, the library, the
 * opened bind sources, the caller's root (today's escape was fd 10). */
const FDS = Array.from({ length: 10 }, (_, i) => i + 3);

/** The README's sandbox line, less its root (as the two tools write it). */
const README = [
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--tmpfs",
  "/tmp",
  "--ro-bind",
  "/etc/hostname",
  "/etc/hostname",
];

/** An attack: the rootfs's links, the mount options, and what must happen. */
interface Case {
  /** Says which attack failed. */
  label: string;
  /** Links to make in the root: path in the root, then its target. */
  links: [string, string][];
  /** The mount options, the same for userns and bwrap. */
  mounts: string[];
  /** The destination a refusal must name. */
  dest: string;
  /** `refuse`: exit 125, one line. `inside`: it may run, but everything it
   * makes stays in the root. */
  must: "refuse" | "inside";
  /** Skip bwrap (it has no such option). */
  noBwrap?: boolean;
}

/** Every attack on a rootfs whose victim directory on the host is V. */
function cases(v: string, src: string): Case[] {
  const all: Case[] = [];
  const etc = (target: string, must: Case["must"], noBwrap = false) =>
    all.push({
      label: `README line, /etc -> ${target}`,
      links: [["/etc", target]],
      mounts: README,
      dest: "/etc/hostname",
      must,
      noBwrap,
    });
  for (const n of FDS) etc(`/proc/self/fd/${n}${v}`, "refuse");
  etc("/proc/self/root/etc", "refuse");
  etc(`/proc/1/root${v}`, "refuse");
  etc(`/proc/self/cwd${v}`, "refuse");
  etc(`/proc/thread-self/root${v}`, "refuse");
  // Not magic: followed inside the root, or refused; never out. bwrap
  // refuses the first two only because it resolves an absolute link in its
  // own base tmpfs, where the parent is missing; userns creates a missing
  // parent, inside the root. bwrap 0.8.0 follows the third out to
  // the host (its old root is at /oldroot while it mounts): not compared.
  etc(`../../../../../../../..${v}`, "inside");
  etc(v, "inside");
  etc(`/oldroot${v}`, "inside", true);
  // The final component is the link: a missing file created through it.
  for (const n of FDS) {
    all.push({
      label: `--ro-bind onto a link to /proc/self/fd/${n}${v}/f`,
      links: [["/x", `/proc/self/fd/${n}${v}/f`]],
      mounts: ["--proc", "/proc", "--ro-bind", src, "/x"],
      dest: "/x",
      must: "refuse",
    });
  }
  // Every kind of destination, each under a magic link.
  const kinds: [string, string[]][] = [
    ["--bind", ["--bind", `${src}.d`, "/x/made"]],
    ["--tmpfs", ["--tmpfs", "/x/made"]],
    ["--dev", ["--dev", "/x/made"]],
    ["--proc", ["--proc", "/x/made"]],
  ];
  for (const [kind, mount] of kinds) {
    for (const n of FDS) {
      all.push({
        label: `${kind} under /x -> /proc/self/fd/${n}${v}`,
        links: [["/x", `/proc/self/fd/${n}${v}`]],
        mounts: ["--proc", "/proc", ...mount],
        dest: "/x/made",
        must: "refuse",
      });
    }
  }
  // The host's proc bound in by the caller, then a link through it.
  for (const n of FDS) {
    all.push({
      label: `--bind /proc /hp, /etc -> /hp/self/fd/${n}${v}`,
      links: [["/etc", `/hp/self/fd/${n}${v}`]],
      mounts: ["--bind", "/proc", "/hp", "--ro-bind", src, "/etc/hostname"],
      dest: "/etc/hostname",
      must: "refuse",
    });
  }
  // A magic link written in the destination itself.
  for (const n of FDS) {
    all.push({
      label: `--tmpfs /proc/self/fd/${n}${v}/made`,
      links: [],
      mounts: ["--proc", "/proc", "--tmpfs", `/proc/self/fd/${n}${v}/made`],
      dest: `/proc/self/fd/${n}${v}/made`,
      must: "refuse",
    });
  }
  // `..` in the destination: resolved inside the root.
  for (const d of [`/../../../../..${v}/h`, `/tmp/../../../..${v}/h`]) {
    all.push({
      label: `--ro-bind onto ${d}`,
      links: [],
      mounts: ["--tmpfs", "/tmp", "--ro-bind", src, d],
      dest: d,
      must: "inside",
    });
  }
  // --mount-proc onto a /proc that is a magic link (through the host's
  // proc bound in first); bwrap has no --mount-proc.
  for (const n of FDS) {
    all.push({
      label: `--mount-proc, /proc -> /hp/self/fd/${n}${v}/p`,
      links: [["/proc", `/hp/self/fd/${n}${v}/p`]],
      mounts: ["--bind", "/proc", "/hp", "--mount-proc"],
      dest: "/proc",
      must: "refuse",
      noBwrap: true,
    });
  }
  return all;
}

/**
 * What a run left on the host: files under the victim, mounts under the
 * test's dir (other tests may mount elsewhere meanwhile).
 */
function leftOnHost(dir: string, mounts: string[]): string[] {
  const victim = `${dir}/victim`;
  const found = listing(victim).map((l) => `made on the host: ${victim}${l}`);
  const mine = (m: string) => m.startsWith(dir);
  const now = hostMounts().filter(mine);
  if (now.join("\n") !== mounts.filter(mine).join("\n")) {
    found.push(
      `mounted on the host: ${now.filter((m) => !mounts.includes(m))}`,
    );
  }
  return found;
}

/** Empties the victim directory (as root: what an escape made). */
function empty(dir: string): void {
  for (const e of Deno.readDirSync(dir)) {
    Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
  }
}

/** Makes the case's links in the root (a link's owner does not matter). */
async function plant(fs: Rootfs, c: Case): Promise<void> {
  for (const [path, target] of c.links) {
    if (path === "/proc") await Deno.remove(`${fs.root}/proc`);
    await Deno.symlink(target, `${fs.root}${path}`);
  }
}

/** Removes the case's links and anything made in the root. */
async function unplant(fs: Rootfs, c: Case): Promise<void> {
  for (const [path] of c.links) {
    await Deno.remove(`${fs.root}${path}`, { recursive: true });
  }
  for (const p of ["/x", "/etc", "/hp", "/oldroot", "/tmp"]) {
    try {
      if (Deno.lstatSync(`${fs.root}${p}`).isSymlink) continue;
      if (p === "/tmp") {
        for (const e of Deno.readDirSync(`${fs.root}/tmp`)) {
          Deno.removeSync(`${fs.root}/tmp/${e.name}`, { recursive: true });
        }
      } else Deno.removeSync(`${fs.root}${p}`, { recursive: true });
    } catch {
      // not made
    }
  }
  if (c.links.some(([p]) => p === "/proc")) {
    await Deno.mkdir(`${fs.root}/proc`);
  }
}

const refusedByBwrap = (r: Ran) => r.code !== 0 && r.stdout === "";

/**
 * Runs every case as one attacker, userns then bwrap, and returns what went
 * wrong: everything, so that a failure lists each way out that worked.
 */
async function attack(who: Attacker, fs: Rootfs): Promise<string[]> {
  const victim = `${fs.dir}/victim`;
  const src = `${fs.dir}/src`;
  await Deno.mkdir(victim);
  await Deno.writeTextFile(src, "bound\n");
  await Deno.mkdir(`${src}.d`);
  await giveTo(victim, who);
  const problems: string[] = [];
  for (const c of cases(victim, src)) {
    const mounts = hostMounts();
    await plant(fs, c);
    try {
      const ours = await who.userns([
        "run",
        "--root",
        fs.root,
        ...c.mounts,
        "--",
        "sh",
        "-c",
        "echo ran",
      ]);
      const left = leftOnHost(fs.dir, mounts);
      problems.push(...left.map((l) => `${c.label}: userns: ${l}`));
      empty(victim);
      const wrong = notRefused(ours, c.dest);
      if (c.must === "refuse" && wrong) {
        problems.push(`${c.label}: userns: ${wrong}`);
      }
      if (c.must === "inside" && ours.code !== 0 && wrong) {
        problems.push(`${c.label}: userns: neither ran nor refused: ${wrong}`);
      }
      if (c.noBwrap) continue;
      const theirs = await who.run(
        bwrap(["--bind", fs.root, "/", ...c.mounts], ["sh", "-c", "echo ran"]),
      );
      // bwrap left the host alone too (else the case is not fair to it).
      const bwrapLeft = leftOnHost(fs.dir, mounts);
      empty(victim);
      if (bwrapLeft.length) {
        problems.push(`${c.label}: bwrap: ${bwrapLeft.join("; ")}`);
      }
      if (c.must === "refuse" && refusedByBwrap(theirs) && wrong) {
        problems.push(
          `${c.label}: bwrap refuses (${theirs.stderr.trim()}), userns not`,
        );
      }
    } finally {
      await unplant(fs, c);
    }
  }
  return problems;
}

nsTest(
  "boundary: mount destinations stay inside --root, side by side with bwrap",
  async (t) => {
    for (const who of attackers()) {
      await t.step(`as ${who.name}`, async () => {
        const fs = await attackRootfs(who);
        try {
          const problems = await attack(who, fs);
          if (problems.length) {
            throw new Error(
              `${problems.length} ways out as ${who.name}:\n` +
                problems.join("\n"),
            );
          }
        } finally {
          removeRootfs(fs);
        }
      });
    }
  },
  rootfsReason ?? bwrapReason ?? attackReason,
);
