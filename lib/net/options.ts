/**
 * The network options (`network`, `publish`, `allowHostLoopback`), their
 * checks, and the CLI's `-p [IP:]HOSTPORT:PORT[/tcp|/udp]`. Pure.
 *
 * @module
 */
import { UsernsError } from "../errors/errors.ts";
import { UsernsRangeError, UsernsTypeError } from "../errors/builtin.ts";

/** What network a command gets. */
export type NetworkMode = "none" | "pasta" | "slirp4netns" | "host";

/** A user-mode network helper. */
export type NetworkHelper = "pasta" | "slirp4netns";

/** The modes, as `--network` takes them. */
export const NETWORK_MODES: readonly NetworkMode[] = [
  "host",
  "none",
  "pasta",
  "slirp4netns",
];

/** A host port forwarded to a port inside (`-p`). */
export interface PublishedPort {
  /** The port on the host, 1-65535. */
  hostPort: number;
  /** The port inside, 1-65535. */
  port: number;
  /** The host address to listen on. @default {"127.0.0.1"} */
  hostIp?: string;
  /** The protocol. @default {"tcp"} */
  protocol?: "tcp" | "udp";
}

/** The network options of a command or a pod. */
export interface NetworkOptions {
  /** The network. @default {"host"} */
  network?: NetworkMode;
  /** Host ports forwarded inside (with `pasta` or `slirp4netns`). */
  publish?: PublishedPort[];
  /** Let the inside reach the host's 127.0.0.1 through the gateway. @default {false} */
  allowHostLoopback?: boolean;
  /** How long the helper may take to be ready, in ms. @default {10000} */
  helperTimeout?: number;
  /** The PATH searched for the helpers. @default {the caller's PATH} */
  path?: string;
  /** Called with a warning (a fallback helper): default prints to stderr. */
  onWarning?: (message: string) => void;
}

/** A {@link PublishedPort} with its defaults filled in. */
export type Published = Required<PublishedPort>;

/** The address a published port listens on when none is written. */
export const DEFAULT_HOST_IP = "127.0.0.1";

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Whether `ip` is an IPv4 address in dotted decimal or an IPv6 address.
 *
 * @param ip the text
 * @returns whether it is an address
 */
export function isIpAddress(ip: string): boolean {
  if (IPV4.test(ip)) return true;
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !ip.includes(":")) return false;
  try {
    return new URL(`http://[${ip}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function isPort(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
}

function checkPort(p: unknown, i: number): Published {
  if (typeof p !== "object" || p === null) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `publish[${i}] must be an object { hostPort, port, hostIp?, protocol? }`,
    );
  }
  const { hostPort, port, hostIp, protocol } = p as PublishedPort;
  for (const [key, v] of [["hostPort", hostPort], ["port", port]] as const) {
    if (!isPort(v)) {
      throw new UsernsRangeError(
        "INVALID_ARGUMENT",
        `publish[${i}].${key} must be an integer from 1 to 65535, not ${
          JSON.stringify(v)
        }`,
      );
    }
  }
  if (
    hostIp !== undefined && (typeof hostIp !== "string" || !isIpAddress(hostIp))
  ) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `publish[${i}].hostIp must be an IPv4 or IPv6 address, not ${
        JSON.stringify(hostIp)
      }`,
    );
  }
  if (protocol !== undefined && protocol !== "tcp" && protocol !== "udp") {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `publish[${i}].protocol must be "tcp" or "udp", not ${
        JSON.stringify(protocol)
      }`,
    );
  }
  return {
    hostPort,
    port,
    hostIp: hostIp ?? DEFAULT_HOST_IP,
    protocol: protocol ?? "tcp",
  };
}

/**
 * Checks the network options, as `Deno.Command` checks its own: a wrong
 * type or value throws at once.
 *
 * @param o the options
 * @returns the published ports, defaults filled in
 * @throws {UsernsTypeError} {UsernsRangeError} INVALID_ARGUMENT
 */
export function checkNetworkOptions(o: NetworkOptions): Published[] {
  const mode = o.network ?? "host";
  if (!NETWORK_MODES.includes(mode)) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `network must be one of ${NETWORK_MODES.join(", ")}, not ${
        JSON.stringify(mode)
      }`,
    );
  }
  if (o.publish !== undefined && !Array.isArray(o.publish)) {
    throw new UsernsTypeError("INVALID_ARGUMENT", "publish must be an array");
  }
  if (
    o.allowHostLoopback !== undefined &&
    typeof o.allowHostLoopback !== "boolean"
  ) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      "allowHostLoopback must be a boolean",
    );
  }
  const t = o.helperTimeout;
  if (t !== undefined && !(Number.isInteger(t) && t > 0)) {
    throw new UsernsRangeError(
      "INVALID_ARGUMENT",
      "helperTimeout must be a positive integer (ms)",
    );
  }
  const ports = (o.publish ?? []).map(checkPort);
  const userMode = mode === "pasta" || mode === "slirp4netns";
  if (!userMode && (ports.length > 0 || o.allowHostLoopback)) {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `${
        ports.length ? "publish" : "allowHostLoopback"
      } needs network "pasta" or "slirp4netns", not ${JSON.stringify(mode)}`,
    );
  }
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.protocol} ${p.hostIp} ${p.hostPort}`;
    if (seen.has(key)) {
      throw new UsernsTypeError(
        "INVALID_ARGUMENT",
        `host port ${
          hostOf(p.hostIp)
        }:${p.hostPort}/${p.protocol} is published twice`,
      );
    }
    seen.add(key);
  }
  return ports;
}

const PUBLISH_HINT =
  "write -p [IP:]HOSTPORT:PORT[/tcp|/udp], e.g. -p 8080:80 or -p 0.0.0.0:8080:80/udp";

function badPublish(spec: string, why: string): UsernsError {
  return new UsernsError(
    "INVALID_ARGUMENT",
    `-p ${JSON.stringify(spec)}: ${why}`,
    {
      hint: PUBLISH_HINT,
    },
  );
}

function portOf(spec: string, text: string, what: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!isPort(n)) {
    throw badPublish(
      spec,
      `${what} ${JSON.stringify(text)} is not a port (1-65535)`,
    );
  }
  return n;
}

/**
 * Parses the CLI's `-p [IP:]HOSTPORT:PORT[/tcp|/udp]`; an IPv6 address is
 * written in brackets (`[::1]:8080:80`). The address defaults to
 * 127.0.0.1: a service inside is not exposed to the network unless
 * `0.0.0.0` is written.
 *
 * @example Usage
 * ```ts
 * import { parsePublish } from "./options.ts";
 * parsePublish("8080:80"); // { hostIp: "127.0.0.1", hostPort: 8080, port: 80, protocol: "tcp" }
 * ```
 *
 * @param spec the argument of `-p`
 * @returns the port
 * @throws {UsernsError} INVALID_ARGUMENT, one line naming `-p`
 */
export function parsePublish(spec: string): Published {
  let rest = spec;
  let protocol: "tcp" | "udp" = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") {
      throw badPublish(spec, `protocol ${JSON.stringify(p)} is not tcp or udp`);
    }
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = DEFAULT_HOST_IP;
  const bracketed = rest.startsWith("[");
  if (bracketed) {
    const end = rest.indexOf("]:");
    if (end < 0) {
      throw badPublish(
        spec,
        "an IPv6 address in brackets must be followed by :HOSTPORT:PORT",
      );
    }
    hostIp = rest.slice(1, end);
    if (!isIpAddress(hostIp) || !hostIp.includes(":")) {
      throw badPublish(
        spec,
        `${JSON.stringify(hostIp)} is not an IPv6 address`,
      );
    }
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(":");
  if (parts.length === 3 && !bracketed) {
    hostIp = parts.shift()!;
    if (!IPV4.test(hostIp)) {
      throw badPublish(
        spec,
        `${
          JSON.stringify(hostIp)
        } is not an IPv4 address (write an IPv6 one in brackets)`,
      );
    }
  }
  if (parts.length !== 2) throw badPublish(spec, "expected HOSTPORT:PORT");
  return {
    hostIp,
    hostPort: portOf(spec, parts[0]!, "host port"),
    port: portOf(spec, parts[1]!, "port"),
    protocol,
  };
}

/**
 * Formats a published port as `-p` takes it: `[IP:]HOSTPORT:PORT/PROTO`.
 *
 * @param p the port
 * @returns e.g. `127.0.0.1:8080:80/tcp`
 */
export function formatPublish(p: PublishedPort): string {
  const host = hostOf(p.hostIp ?? DEFAULT_HOST_IP);
  return `${host}:${p.hostPort}:${p.port}/${p.protocol ?? "tcp"}`;
}

/** A host address as it stands before `:PORT`: IPv6 in brackets. */
function hostOf(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}
