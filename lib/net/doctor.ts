/**
 * What `userns doctor` says of user-mode networking: the helpers on PATH,
 * setpriv (which ties a command's helper to userns), and /dev/net/tun.
 * Networking is optional: what is missing is a warning, not a failure.
 *
 * @module
 */
import { findOnPath } from "../system/path_search.ts";
import { TUN, tunProblem } from "./errors.ts";
import type { Lookup } from "./plan.ts";

/** A verdict, shaped as `userns doctor`'s checks are. */
export interface NetworkCheck {
  /** What was checked, e.g. `pasta`. */
  check: string;
  /** `warn`: `--network pasta|slirp4netns` will not work as it should. */
  status: "ok" | "warn";
  /** What was found. */
  detail: string;
  /** What to do about it; `""` when ok. */
  hint: string;
}

/**
 * The network checks.
 *
 * @param path the PATH to search
 * @param lookup how programs are found @default {a search of `path`}
 * @param tun the tun device @default {"/dev/net/tun"}
 * @returns one verdict each for pasta, slirp4netns, setpriv, the tun device
 */
export function networkChecks(
  path: string,
  lookup: Lookup = (name) => findOnPath(name, path),
  tun = TUN,
): NetworkCheck[] {
  const ok = (check: string, detail: string): NetworkCheck => ({
    check,
    status: "ok",
    detail,
    hint: "",
  });
  const warn = (check: string, detail: string, hint: string): NetworkCheck => ({
    check,
    status: "warn",
    detail,
    hint,
  });
  const pasta = lookup("pasta"), slirp = lookup("slirp4netns");
  const setpriv = lookup("setpriv");
  const problem = tunProblem(tun);
  return [
    pasta ? ok("pasta", pasta) : warn(
      "pasta",
      `not found on PATH${slirp ? ": --network pasta uses slirp4netns" : ""}`,
      "install passt (apt-get install passt)",
    ),
    slirp ? ok("slirp4netns", slirp) : warn(
      "slirp4netns",
      "not found on PATH",
      "install slirp4netns (apt-get install slirp4netns)",
    ),
    setpriv ? ok("setpriv", setpriv) : warn(
      "setpriv",
      "not found on PATH: pasta would outlive a userns that is killed",
      "install util-linux (apt-get install util-linux)",
    ),
    problem
      ? warn(tun, `cannot be opened: ${problem.why}`, problem.hint)
      : ok(tun, "can be opened for reading and writing"),
  ];
}
