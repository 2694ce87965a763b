/**
 * User-mode networking for a new network namespace: `pasta` (from passt,
 * podman's default) or `slirp4netns`, started on the namespace's first
 * process before it runs anything, with host ports published into it and
 * the host's own loopback closed unless asked for.
 *
 * A command (`run`): call {@link startNetwork} from the spawn's
 * `beforeExec(pid)` moment (maps written, nothing executed), bind the
 * handle's `resolvConf` over `/etc/resolv.conf` in the command's mount
 * tree, and {@link NetworkHandle.close} the handle once the command has
 * ended. The helper is this process's child: killed by the kernel if this
 * process dies, even by SIGKILL.
 *
 * A pod (`start`/`stop`): {@link startPodNetwork} at the same moment of the
 * holder's start; the helper is detached and outlives `start`; keep the
 * returned {@link PodNetwork} in the pod's record, and call
 * {@link stopPodNetwork} with it at `stop` and when a dead pod's record is
 * swept.
 *
 * @example Usage
 * ```ts ignore
 * import { UsernsCommand } from "../mod.ts";
 * import { startNetwork, type NetworkHandle } from "./mod.ts";
 *
 * let net: NetworkHandle | undefined;
 * const out = await new UsernsCommand("sh", {
 *   args: ["-c", "echo hi | nc -l -p 80"],
 *   namespaces: ["net", "pid"],
 *   beforeExec: async (pid) => {
 *     net = await startNetwork(pid, {
 *       network: "pasta",
 *       publish: [{ hostPort: 8080, port: 80 }], // 127.0.0.1:8080 on the host
 *     });
 *   },
 * }).output();
 * await net?.close();
 * ```
 *
 * @module
 */
export { dropPodNetwork } from "./pod.ts";
export {
  checkNetworkOptions,
  DEFAULT_HOST_IP,
  formatPublish,
  isIpAddress,
  NETWORK_MODES,
  type NetworkHelper,
  type NetworkMode,
  type NetworkOptions,
  parsePublish,
  type Published,
  type PublishedPort,
} from "./options.ts";
export {
  commandLine,
  type Lookup,
  type NetworkPlan,
  PASTA_DNS,
  pastaArgs,
  pastaSpec,
  type PastaTarget,
  planNetwork,
  READY_FD,
  resolvConf,
  SLIRP_DNS,
  SLIRP_IFNAME,
  slirpArgs,
} from "./plan.ts";
export { checkTun, NetworkError, type NetworkFailure, TUN } from "./errors.ts";
export { type NetworkHandle, startNetwork, startPlanned } from "./start.ts";
export { addHostForward, type SlirpAnswer, slirpRequest } from "./slirp_api.ts";
export {
  type PodNetwork,
  podNetworkAlive,
  podNetworkFiles,
  type PodPlace,
  startPodNetwork,
  stopPodNetwork,
} from "./pod.ts";
export { type NetworkCheck, networkChecks } from "./doctor.ts";
