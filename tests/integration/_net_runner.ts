/**
 * How the network tests run a scenario of `_net_scenarios.ts`: in this
 * process, or as a script, as the test user (root runs it through
 * `runuser` on a copy the user can read), or inside a network namespace
 * the test made to play the host. A helper module: it registers no test
 * (its name follows the `net_*_test.ts` pattern of this worktree's files;
 * `_net.ts` in the suite's own convention).
 */
import { nsTest, PRIVILEGED, ROOT, text } from "./_env.ts";
import { asUser, UNPRIVILEGED_REASON, userMain } from "./_user.ts";
import { findOnPath } from "../../lib/system/path_search.ts";
import {
  FAKE_GATEWAY,
  type ScenarioName,
  SCENARIOS,
} from "./_net_scenarios.ts";

/** Who runs a scenario: the suite's own user, or the test user (as root). */
export type Who = "caller" | "user";

/** The helpers, each tested on its own. */
export const HELPERS = ["pasta", "slirp4netns"] as const;

/** Who the tests run as: the caller, and the test user when root. */
export const WHO: Who[] = PRIVILEGED && !UNPRIVILEGED_REASON
  ? ["caller", "user"]
  : ["caller"];

const SCRIPT = `${ROOT}tests/integration/_net_scenarios.ts`;

/** Why `helper` cannot run here, if it cannot (ignored, or failed under CI). */
export function needs(helper: string): string | undefined {
  const pkg = helper === "pasta" ? "passt" : helper;
  if (!findOnPath(helper, Deno.env.get("PATH") ?? "")) {
    return `${helper} is not installed (apt-get install ${pkg})`;
  }
  const mode = (Deno.statSync("/dev/net/tun").mode ?? 0) & 0o777;
  if ((mode & 0o006) !== 0o006) {
    return `/dev/net/tun is mode ${
      mode.toString(8)
    } (as root: chmod 666 /dev/net/tun)`;
  }
  return undefined;
}

/**
 * Registers one test per helper and per user.
 *
 * @param name what it shows
 * @param fn the test, given the helper and who runs it
 */
export function netTest(
  name: string,
  fn: (helper: (typeof HELPERS)[number], who: Who) => Promise<void>,
): void {
  for (const helper of HELPERS) {
    for (const who of WHO) {
      nsTest(
        `${helper}, as ${
          who === "user" ? "the test user" : "the caller"
        }: ${name}`,
        () => fn(helper, who),
        needs(helper),
      );
    }
  }
}

let userScript: string | undefined;

/** The scenarios' script, in a copy of the module the test user can read. */
function scriptFor(who: Who): string {
  if (who === "caller") return SCRIPT;
  if (!userScript) {
    const dir = userMain().replace(/\/main\.ts$/, "/tests/integration");
    Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
    Deno.copyFileSync(SCRIPT, `${dir}/_net_scenarios.ts`);
    userScript = `${dir}/_net_scenarios.ts`;
  }
  return userScript;
}

/** The command line that runs a scenario as a script. */
export function scriptCommand(
  who: Who,
  name: ScenarioName,
  args: object,
  wrap: string[] = [],
): string[] {
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    scriptFor(who),
    name,
    JSON.stringify(args),
  ];
  return who === "user" ? asUser(argv, {}, wrap).argv : [...wrap, ...argv];
}

/**
 * Runs a scenario: in this process when the caller runs it with no wrap
 * (unless `script`), else as a script.
 *
 * @param who who runs it
 * @param name the scenario
 * @param args its arguments
 * @param wrap a command prefix that runs the rest (as root: before runuser)
 * @param script run it as a script in any case (a process that ends)
 * @returns what it returned
 */
export async function scenario<T = Record<string, unknown>>(
  who: Who,
  name: ScenarioName,
  args: object,
  wrap: string[] = [],
  script = false,
): Promise<T> {
  if (who === "caller" && wrap.length === 0 && !script) {
    return await (SCENARIOS[name] as (a: object) => Promise<T>)(args);
  }
  const argv = scriptCommand(who, name, args, wrap);
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${name} exited ${out.code}: ${text(out.stderr)}`);
  }
  return JSON.parse(text(out.stdout).trim().split("\n").at(-1)!);
}

const FAKE_HOST = `set -e
ip link add v0 type veth peer name v1
ip addr add 198.51.100.2/24 dev v0
ip link set v0 up
ip link set v1 up
ip link set lo up
ip route add default via ${FAKE_GATEWAY}
exec "$@"`;

/**
 * A network namespace of the test's own playing the host: a veth pair
 * with a default route to a gateway nobody answers for, and nothing that
 * leads off the machine. As root a new network namespace; unprivileged, a
 * new user namespace too, where the command then maps root only.
 */
export function fakeHost(): { wrap: string[]; map?: "root" } {
  const sh = ["sh", "-c", FAKE_HOST, "sh"];
  if (PRIVILEGED) return { wrap: ["unshare", "--net", ...sh] };
  return {
    wrap: ["unshare", "--user", "--map-root-user", "--net", ...sh],
    map: "root",
  };
}

/**
 * A mount namespace whose /dev/net/tun is `file` bound over it (as root),
 * or /dev/null (unprivileged, in a user namespace of its own).
 */
export function brokenTun(file = "/dev/null"): {
  wrap: string[];
  map?: "root";
} {
  const sh = [
    "sh",
    "-c",
    'mount --bind "$0" /dev/net/tun && exec "$@"',
    file,
  ];
  if (PRIVILEGED) return { wrap: ["unshare", "--mount", ...sh] };
  return {
    wrap: ["unshare", "--user", "--map-root-user", "--mount", ...sh],
    map: "root",
  };
}
