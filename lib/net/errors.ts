/**
 * The errors of user-mode networking, one line each with the fix: a
 * missing helper, an unusable `/dev/net/tun`, a host port that cannot be
 * had, a helper that failed or took too long.
 *
 * @module
 */
import {
  UsernsError,
  type UsernsErrorCode,
  type UsernsErrorDetails,
} from "../errors/errors.ts";
import {
  formatPublish,
  type NetworkHelper,
  type Published,
} from "./options.ts";

/** Why the network could not be set up. */
export type NetworkFailure =
  | "missing" // the helper is not installed
  | "tun" // /dev/net/tun cannot be used
  | "port" // a published host port cannot be listened on
  | "namespace" // the helper cannot enter the namespace
  | "failed" // the helper failed otherwise
  | "timeout"; // the helper was not ready in time

/** A network that could not be set up; nothing of it is left running. */
export class NetworkError extends UsernsError {
  override name = "NetworkError";
  /** Why, for a program to tell. */
  readonly reason: NetworkFailure;
  /** The helper it concerns, if one was chosen. */
  readonly helper?: NetworkHelper;

  /**
   * @param code machine-readable code
   * @param reason why, in one word
   * @param what what failed and why
   * @param details hint, cause, and the helper concerned
   */
  constructor(
    code: UsernsErrorCode,
    reason: NetworkFailure,
    what: string,
    details: UsernsErrorDetails & { helper?: NetworkHelper } = {},
  ) {
    super(code, what, details);
    this.reason = reason;
    this.helper = details.helper;
  }
}

/** The device both helpers open inside the namespace. */
export const TUN = "/dev/net/tun";

const TUN_HINT = `as root: chmod 666 ${TUN} (the mode distributions ship)`;

/**
 * Why this process may not open the tun device for reading and writing, as
 * a helper will (opening creates no interface), if it may not.
 *
 * @param path the device @default {"/dev/net/tun"}
 * @returns why it cannot be opened (`EACCES (mode 0600, owner 0)`) and the
 *   fix, or undefined when it opens (or when Deno's permissions do not let
 *   this process try)
 */
export function tunProblem(
  path = TUN,
): { why: string; hint: string; cause: unknown } | undefined {
  try {
    Deno.openSync(path, { read: true, write: true }).close();
    return undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) return undefined;
    if (e instanceof Deno.errors.NotFound) {
      return {
        why: "it does not exist",
        hint:
          `as root: modprobe tun, or mknod ${path} c 10 200 && chmod 666 ${path}`,
        cause: e,
      };
    }
    const code = (e as { code?: string }).code ?? (e as Error).name;
    return {
      why: `${code}${modeOf(path)}`,
      hint: TUN_HINT,
      cause: e,
    };
  }
}

/**
 * Checks that this process may open `/dev/net/tun`, as the helper will.
 *
 * @param helper the helper that will open it
 * @throws {NetworkError} tun, with the fix
 */
export function checkTun(helper: NetworkHelper): void {
  const p = tunProblem();
  if (p) {
    const what = `${helper} cannot open ${TUN}: ${p.why}`;
    throw new NetworkError("HELPER_FAILED", "tun", what, {
      hint: p.hint,
      helper,
      cause: p.cause,
    });
  }
}

function modeOf(path: string): string {
  try {
    const st = Deno.statSync(path);
    return ` (mode ${
      ((st.mode ?? 0) & 0o7777).toString(8).padStart(4, "0")
    }, owner ${st.uid})`;
  } catch {
    return "";
  }
}

/** The helper's own lines, without the noise of a missing syslog. */
export function helperLines(stderr: string): string[] {
  return stderr.split("\n").map((l) => l.trim())
    .filter((l) => l && !/^Failed to send \d+ bytes to syslog/.test(l));
}

/**
 * What a helper that ended before it was ready means.
 *
 * @param helper the helper
 * @param publish the ports it was to forward
 * @param status how it ended
 * @param stderr what it printed
 * @param pid the namespace's process
 * @returns the error; a port error is refined by {@link portFailure}
 */
export function helperFailure(
  helper: NetworkHelper,
  publish: readonly Published[],
  status: { code: number; signal: Deno.Signal | null },
  stderr: string,
  pid: number,
): NetworkError | { port: Published; line: string } {
  const lines = helperLines(stderr);
  const line = lines.find((l) => /tun|namespace|bind|port|fwd/i.test(l)) ??
    lines.at(-1) ?? "";
  // pasta: "Failed to bind any port for '-t 127.0.0.1/8080:80', exiting"
  const bind = /Failed to bind any port for '-([tu]) (.*)\/(\d+):\d+'/.exec(
    line,
  );
  if (bind) {
    const proto = bind[1] === "t" ? "tcp" : "udp";
    const port = publish.find((p) =>
      p.protocol === proto && p.hostIp === bind[2] &&
      p.hostPort === Number(bind[3])
    );
    if (port) return { port, line };
  }
  if (/tun/i.test(line)) {
    return new NetworkError(
      "HELPER_FAILED",
      "tun",
      `${helper} cannot use ${TUN} in the namespace: "${line}"`,
      {
        hint: TUN_HINT,
        helper,
      },
    );
  }
  if (/namespace|setns|\/proc\/\d+\/ns/i.test(line)) {
    return new NetworkError(
      "HELPER_FAILED",
      "namespace",
      `${helper} cannot enter the namespaces of process ${pid}: "${line}"`,
      {
        hint:
          "start it on a child of yours with a new network namespace, before the command runs",
        helper,
      },
    );
  }
  const how = status.signal
    ? `was killed by ${status.signal}`
    : `exited with code ${status.code}`;
  return new NetworkError(
    "HELPER_FAILED",
    "failed",
    `${helper} ${how}${line ? `: "${line}"` : ""}`,
    {
      hint:
        `see ${helper}(1); run it by hand with the same arguments to see more`,
      helper,
    },
  );
}

/**
 * Why a published port could not be listened on, found by trying to
 * listen on it here (TCP; for UDP the helper's words are given).
 *
 * @param helper the helper
 * @param p the port
 * @param line what the helper said
 * @returns the error
 */
export function portFailure(
  helper: NetworkHelper,
  p: Published,
  line: string,
): NetworkError {
  const at = `-p ${formatPublish(p)}`;
  const fail = (why: string, hint: string, cause?: unknown) =>
    new NetworkError("HELPER_FAILED", "port", `${at}: ${why}`, {
      hint,
      helper,
      cause,
    });
  if (p.protocol === "tcp") {
    try {
      Deno.listen({ hostname: p.hostIp, port: p.hostPort, transport: "tcp" })
        .close();
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        return fail(
          `host port ${p.hostPort} on ${p.hostIp} is already in use`,
          `publish another host port, or stop what listens there (ss -ltnp 'sport = :${p.hostPort}')`,
          e,
        );
      }
      if (e instanceof Deno.errors.AddrNotAvailable) {
        return fail(
          `${p.hostIp} is not an address of this host`,
          "publish on 127.0.0.1, 0.0.0.0 or an address of ip -br addr",
          e,
        );
      }
      if (e instanceof Deno.errors.PermissionDenied && p.hostPort < 1024) {
        return fail(
          `host port ${p.hostPort} is below 1024, which needs privilege`,
          "publish a host port from 1024 up (or lower sysctl net.ipv4.ip_unprivileged_port_start)",
          e,
        );
      }
    }
  }
  return fail(
    `cannot listen on host port ${p.hostPort}${line ? `: "${line}"` : ""}`,
    "publish another host port",
  );
}

/**
 * The helper was not ready in time.
 *
 * @param helper the helper
 * @param ms the time it had
 * @returns the error
 */
export function timeoutFailure(
  helper: NetworkHelper,
  ms: number,
): NetworkError {
  return new NetworkError(
    "HELPER_TIMEOUT",
    "timeout",
    `${helper} was not ready within ${ms} ms and was killed`,
    {
      hint: "raise helperTimeout, or check the machine's load",
      helper,
    },
  );
}
