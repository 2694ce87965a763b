/**
 * `userns start NAME`, `userns stop NAME...`, `userns ls`: pods, named
 * namespaces that outlive the commands run in them.
 *
 * @module
 */
import { formatCompactMap } from "../inspect/ps.ts";
import { UsernsPod } from "../pod/pod.ts";
import type { PodOptions } from "../pod/holder.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
  usageError,
} from "./args.ts";
import {
  commandOptions,
  MAP_OPTIONS,
  MOUNT_OPTIONS,
  NAMESPACE_OPTIONS,
  SANDBOX_OPTIONS,
} from "./run_options.ts";

/** Options of `userns start`. */
/** What a pod takes of the sandbox and network options: its namespaces'
 * and view; the capabilities and filter are each command's. */
const POD_SANDBOX_OPTIONS: OptionSpecs = Object.fromEntries(
  ["sandbox", "hide", "network", "publish", "allow-host-loopback"].map((
    name,
  ) => [name, SANDBOX_OPTIONS[name]!]),
);

export const START_OPTIONS: OptionSpecs = {
  ...MAP_OPTIONS,
  ...NAMESPACE_OPTIONS,
  ...MOUNT_OPTIONS,
  ...POD_SANDBOX_OPTIONS,
  quiet: { type: "boolean", help: "no warnings on stderr" },
  help: HELP,
};

/** Options of `userns stop`. */
export const STOP_OPTIONS: OptionSpecs = { help: HELP };

/** Options of `userns ls`. */
export const LS_OPTIONS: OptionSpecs = {
  json: { type: "boolean", help: "print a JSON array" },
  help: HELP,
};

const START_USAGE = "Usage: userns start [OPTIONS] NAME\n\n" +
  "Starts the pod NAME: a user and mount namespace (and those asked for) held by\n" +
  "a tiny userns-pause process, for later `userns run --in NAME` and `enter NAME`.";

/**
 * `userns start`.
 *
 * @param argv arguments after `start`
 * @returns the exit status
 */
export async function start(argv: string[]): Promise<number> {
  const parsed = parse(argv, START_OPTIONS, false);
  if (parsed.values.help) {
    console.log(helpText(START_USAGE, START_OPTIONS));
    return 0;
  }
  const [name] = parsed.operands;
  if (name === undefined) throw usageError("missing NAME");
  maxOperands(parsed.operands, 1);
  const o = commandOptions(parsed);
  if (o.init === false) throw usageError("--as-pid-1: a pod runs no command");
  const options: PodOptions = {
    name,
    map: o.map,
    uidMap: o.uidMap,
    gidMap: o.gidMap,
    setgroups: o.setgroups,
    strict: o.strict,
    namespaces: o.namespaces,
    hostname: o.hostname,
    propagation: o.propagation,
    mounts: o.mounts,
    mountProc: o.mountProc,
    root: o.root,
    timeOffsets: o.timeOffsets,
    onWarning: o.onWarning,
    sandbox: o.sandbox,
    hide: o.hide,
    network: o.network,
    publish: o.publish,
    allowHostLoopback: o.allowHostLoopback,
  };
  await UsernsPod.start(options);
  return 0;
}

/**
 * `userns stop`.
 *
 * @param argv arguments after `stop`
 * @returns the exit status
 */
export async function stop(argv: string[]): Promise<number> {
  const parsed = parse(argv, STOP_OPTIONS, false);
  if (parsed.values.help) {
    console.log(
      helpText(
        "Usage: userns stop NAME...\n\nStops pods: kills their holders (and every process of their pid namespaces).",
        STOP_OPTIONS,
      ),
    );
    return 0;
  }
  if (parsed.operands.length === 0) throw usageError("missing NAME");
  const pods = parsed.operands.map((name) => UsernsPod.open(name));
  for (const pod of pods) {
    const { remaining } = await pod.stop();
    if (remaining > 0) {
      console.error(
        `userns: warning: pod "${pod.name}" stopped; ${remaining} ${
          remaining === 1 ? "process still runs" : "processes still run"
        } in its namespaces (it had no pid namespace of its own)`,
      );
    }
  }
  return 0;
}

/**
 * `userns ls`.
 *
 * @param argv arguments after `ls`
 * @returns the exit status
 */
export function ls(argv: string[]): Promise<number> {
  const parsed = parse(argv, LS_OPTIONS, false);
  if (parsed.values.help) {
    console.log(
      helpText(
        "Usage: userns ls [--json]\n\nLists your live pods.",
        LS_OPTIONS,
      ),
    );
    return Promise.resolve(0);
  }
  maxOperands(parsed.operands, 0);
  const pods = UsernsPod.list();
  if (parsed.values.json) {
    console.log(JSON.stringify(pods));
    return Promise.resolve(0);
  }
  const rows = [[
    "NAME",
    "PID",
    "NAMESPACES",
    "UID MAP",
    "PROCESSES",
    "CREATED",
  ]];
  for (const p of pods) {
    rows.push([
      p.name,
      String(p.pid),
      p.namespaces.join(","),
      formatCompactMap(p.uid),
      String(p.processes),
      p.created,
    ]);
  }
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((r) => r[i]!.length))
  );
  for (const r of rows) {
    console.log(
      r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join("  "),
    );
  }
  return Promise.resolve(0);
}
