// Who runs the container tests, and how: the caller, or, when the suite runs
// as root, the unprivileged TEST_USER through runuser with a clean
// environment, so that both CI passes exercise the rootless path. And what
// they need installed.
import { PRIVILEGED, text } from "./_env.ts";

/** The unprivileged user (tests/setup_user.sh) the tests use when root. */
export const TEST_USER = "nsuser";

/** A passwd entry. */
export interface User {
  /** Login name. */
  name: string;
  /** Uid. */
  uid: number;
  /** Primary gid. */
  gid: number;
  /** Home directory. */
  home: string;
}

/** What a command printed and how it ended. */
export interface Output {
  /** Exit code (128+N for signal N). */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

function passwdUser(match: (f: string[]) => boolean): User | undefined {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .map((l) => l.split(":")).find((f) => f.length >= 7 && match(f));
  if (!line) return undefined;
  const [name, , uid, gid, , home] = line as [string, ...string[]];
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? "/" };
}

function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return ((Deno.statSync(`${d}/${name}`).mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

/** The user the container commands run as: TEST_USER as root, else the caller. */
export const containerUser: User | undefined = PRIVILEGED
  ? passwdUser((f) => f[0] === TEST_USER)
  : passwdUser((f) => Number(f[2]) === Deno.uid());

function probe(): string | undefined {
  for (const tool of ["podman", "buildah", "runc"]) {
    if (!onPath(tool)) {
      return `${tool} is not on PATH (apt-get install podman buildah runc)`;
    }
  }
  if (!onPath("busybox")) return "no busybox (apt-get install busybox-static)";
  if (!containerUser) {
    return PRIVILEGED
      ? `no user ${TEST_USER} (bash tests/setup_user.sh)`
      : "the caller has no /etc/passwd entry";
  }
  return undefined;
}

/** Why podman and buildah cannot be tested here, or undefined. */
export const containerReason: string | undefined = probe();
if (containerReason) console.error(`container tests: ${containerReason}`);

/** How long one command may take before it is killed. */
const TIMEOUT_MS = 120_000;

/**
 * Runs argv as `user` with exactly `env` (`runuser` then `env -i` as root),
 * stdin from /dev/null; killed after two minutes.
 *
 * @param user who runs it: the caller, or anyone when root
 * @param argv the program and its arguments
 * @param env its whole environment
 * @param cwd its working directory
 * @returns its exit code and output
 */
export async function runAs(
  user: User,
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<Output> {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [cmd, ...args] = PRIVILEGED
    ? ["runuser", "-u", user.name, "--", "env", "-i", ...vars, ...argv]
    : argv;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const out = await new Deno.Command(cmd!, {
      args,
      cwd,
      clearEnv: !PRIVILEGED,
      env: PRIVILEGED ? {} : env,
      stdin: "null",
      signal: abort.signal,
    }).output();
    return {
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
