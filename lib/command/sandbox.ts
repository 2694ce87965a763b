/**
 * `--sandbox` (library: `sandbox: true`): one option for running code you do
 * not trust, as bwrap is used by Flatpak and by agent sandboxes, with the
 * whole sub-ID range still mapped. {@link withSandbox} turns it into the
 * options it stands for; every one of them can still be widened by the
 * option that names it (`capAdd`, `seccomp: "none"`, `network`, `mounts`).
 *
 * @module
 */
import { pathFromUrl } from "../check/file_url.ts";
import type { UsernsCommandOptions } from "./options.ts";
import type { Mount } from "../mounts/ops.ts";
import type { Namespace } from "./namespaces.ts";
import { cachePath } from "../../ffi/library/cache.ts";
import { envOr } from "../../ffi/library/compiler.ts";

/** The caller's variables a sandbox keeps, besides `LC_*`. */
export const KEPT_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "TERM",
];

/** The caller's variables a sandbox keeps: {@link KEPT_ENV} and `LC_*`. */
function keptEnv(): Record<string, string> {
  const kept: Record<string, string> = {};
  let all: Record<string, string>;
  try {
    all = Deno.env.toObject();
  } catch {
    return kept; // not permitted: nothing kept
  }
  for (const [name, value] of Object.entries(all)) {
    if (KEPT_ENV.includes(name) || name.startsWith("LC_")) kept[name] = value;
  }
  return kept;
}

/** The directory a sandbox binds writable: the command's working directory
 * as given (against the caller's), else the caller's. */
function workDir(o: UsernsCommandOptions): string {
  if (o.cwd === undefined) return Deno.cwd();
  const dir = pathFromUrl(o.cwd, "cwd");
  return dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
}

/**
 * What a sandbox hides besides `hide`: userns's own cache (the library and
 * the compiled filters the next run loads, which a command that can write
 * there, through a writable working directory or bind, could replace, and
 * so run its code, or an allow-all filter, in the next run) and the
 * session's runtime directory (`$XDG_RUNTIME_DIR`: the D-Bus, ssh-agent and
 * podman sockets, which a read-only bind does not keep a command from
 * connecting to). Neither is hidden where it holds the working directory.
 */
function ownHides(cwd: string): string[] {
  const runtime = envOr("XDG_RUNTIME_DIR", "");
  let cache = "";
  try {
    cache = cachePath();
  } catch {
    // no usable place: nothing there to hide
  }
  return [cache, runtime].filter((p) =>
    p.startsWith("/") && cwd !== p && !cwd.startsWith(`${p}/`)
  );
}

/**
 * What of a sandbox's fresh `/proc` is bound read-only over it, as podman
 * keeps it: the kernel's settings and triggers, which their files' modes
 * alone guard (a sandbox of root's runs as uid 0 of the host, without
 * capabilities). Those the kernel does not have are passed over.
 */
const PROC_READONLY = [
  "/proc/sys",
  "/proc/sysrq-trigger",
  "/proc/irq",
  "/proc/bus",
  "/proc/fs",
  "/proc/asound",
];

let procBinds: Mount[] | undefined;

/** The binds of {@link PROC_READONLY}, looked up once per process: what
 * the kernel has does not change while it runs. */
function procReadonly(): Mount[] {
  procBinds ??= PROC_READONLY.filter((p) => {
    try {
      Deno.lstatSync(p);
      return true;
    } catch {
      return false;
    }
  }).map((p) => ({ type: "bind", source: p, target: p, readonly: true }));
  return procBinds;
}

/**
 * The options `sandbox: true` stands for, with those given on top:
 *
 * - the host's file system read-only (`/` bound read-only as the new root;
 *   `root` if given), the working directory bound writable, a fresh tmpfs
 *   on `/tmp`, a fresh `/dev`, `/proc` (its kernel settings read-only)
 *   and, with a network namespace of its own, `/sys`; `mounts` and `hide`
 *   apply after these, and userns's own
 *   cache and `$XDG_RUNTIME_DIR` are hidden (see ownHides());
 * - new pid (with the init), ipc, uts and network namespaces: no network
 *   but loopback unless `network` says otherwise;
 * - every capability dropped (`capDrop: ["ALL"]`, widened by `capAdd`),
 *   `seccomp: "default"`, no_new_privs, a new session, death with its
 *   parent (always), and an environment cleared to `PATH HOME USER LANG
 *   LC_* TERM` plus `env`.
 *
 * @param o the options, checked
 * @returns them as they are without `sandbox`, else expanded
 */
export function withSandbox(o: UsernsCommandOptions): UsernsCommandOptions {
  if (!o.sandbox) return o;
  const cwd = workDir(o);
  const preset: Mount[] = [
    { type: "tmpfs", target: "/tmp" },
    { type: "dev", target: "/dev" },
    { type: "proc", target: "/proc" },
    ...procReadonly(),
  ];
  // "/" itself stays read-only: binding it writable would undo the rest.
  if (cwd !== "/") preset.push({ type: "bind", source: cwd, target: cwd });
  const namespaces = new Set<Namespace>([
    ...(o.namespaces ?? []),
    "pid",
    "ipc",
    "uts",
  ]);
  return {
    ...sandboxProcess(o),
    root: o.root ?? "/",
    mounts: [...preset, ...(o.mounts ?? [])],
    hide: [...ownHides(cwd), ...(o.hide ?? [])],
    namespaces: [...namespaces],
    network: o.network ?? "none",
    cwd,
  };
}

/**
 * The part of {@link withSandbox} that is the command's own process: every
 * capability dropped (widened by `capAdd`), `seccomp: "default"`,
 * no_new_privs, and the cleared environment. A pod started with `sandbox`
 * gives it to each of its commands.
 *
 * @param o the options, checked
 * @returns them with the process part of the sandbox
 */
export function sandboxProcess(
  o: UsernsCommandOptions,
): UsernsCommandOptions {
  return {
    ...o,
    noNewPrivs: true,
    capDrop: o.capDrop ?? ["ALL"],
    seccomp: o.seccomp ?? "default",
    clearEnv: true,
    env: { ...keptEnv(), ...(o.env ?? {}) },
    setsid: o.setsid ?? (o.ctty || o.tty ? undefined : true),
  };
}
