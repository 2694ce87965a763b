/**
 * What the end-to-end sandbox tests run inside (`sandbox_cli_test.ts`): one
 * shell script that prints `KEY VALUE` lines, the same under `userns run
 * --sandbox`, the library's `sandbox: true`, a pod and bwrap. Run as a
 * scenario (`deno run -A _sandbox_probe.ts library ARGS`), it spawns the
 * script through the library with `sandbox: true` and prints what it got
 * as JSON: this file imports only the library, so that a copy of it runs as
 * the test user (see `runScenario`). It registers no test.
 *
 * Keys: the five capability sets, NoNewPrivs and Seccomp of the command;
 * `home work extra ssh_write` (a file created in `$HOME`, the working
 * directory, a directory given as `$2`, the hidden `~/.ssh`: ok or the
 * errno); `tmp ssh sys_net` (entries of /tmp, the hidden `~/.ssh`,
 * /sys/class/net, or the errno); `add_key keyctl tiocsti tcgets` (the
 * filtered calls, and one that must pass); `bind` (port 80: needs
 * CAP_NET_BIND_SERVICE); `links` (the interfaces `ip link` lists);
 * `secret` (the hidden key file's text); `remount` (the status of `mount -o
 * remount,rw /`); `env` (the names in the command's own environment).
 */
import { UsernsCommand } from "../../lib/mod.ts";

/** The script; `$1` is the probe, `$2` a directory outside the working one. */
export const SCRIPT = `P="$1"; EXTRA="$2"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status |
  sed 's/:[[:space:]]*/ /'
"$P" create home "$HOME/userns-probe" create work "$PWD/userns-probe" \\
  create extra "$EXTRA/userns-probe" create ssh_write "$HOME/.ssh/probe" \\
  entries tmp /tmp entries ssh "$HOME/.ssh" entries sys_net /sys/class/net \\
  add_key keyctl bind 80 tcgets tiocsti
echo "links $(ip -o link show | awk -F': ' '{print $2}' | sort | paste -sd, -)"
echo "secret $(cat "$HOME/.ssh/id_test" 2>/dev/null || echo unreadable)"
mount -o remount,rw / 2>/dev/null; echo "remount $?"
echo "env $(tr '\\0' '\\n' < /proc/$$/environ | cut -d= -f1 | sort | paste -sd, -)"
`;

/** What the library scenario is given. */
export interface LibraryArgs {
  /** The whole environment of the process that spawns. */
  env: Record<string, string>;
  /** The working directory. */
  work: string;
  /** The probe. */
  probe: string;
  /** `$2`. */
  extra: string;
  /** Paths to hide. */
  hide: string[];
  /** Variables given with `env`. */
  set: Record<string, string>;
}

async function library(a: LibraryArgs): Promise<void> {
  for (const k of Object.keys(Deno.env.toObject())) Deno.env.delete(k);
  for (const [k, v] of Object.entries(a.env)) Deno.env.set(k, v);
  const out = await new UsernsCommand("sh", {
    args: ["-c", SCRIPT, "sh", a.probe, a.extra],
    sandbox: true,
    cwd: a.work,
    hide: a.hide,
    env: a.set,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  console.log(JSON.stringify({
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
  }));
}

if (import.meta.main) {
  const [name, args] = Deno.args;
  if (name !== "library") throw new Error(`no scenario ${name}`);
  await library(JSON.parse(args!));
  console.error(`scenario ${name}: ok`);
}
