// README, "The boundary", "Your memory stays yours": a child
// that joins a pod (`userns run --in`, `UsernsPod.command()`, `userns
// enter`) never shares the caller's memory and is not dumpable from before
// its first setns until it executes the command. The pod's root, with
// every capability of the pod's user namespace, watches for the joining
// processes and reads /proc/PID/environ and /proc/PID/mem and
// PTRACE_ATTACHes them, while each is held at its exec for 1.5 s
// (_attack.ts's `hold-exec`): it must get neither the caller's secret
// (USERNS_SECRET in its environment) nor its heap marker, nor attach
// anything before it executes the command. In a pod without a pid
// namespace, and in a `--root` and a `--pid --proc` pod; as the caller and,
// as root, as the test user too (the issue reproduced it unprivileged).
//
// Each run is a scenario of _attack_memory.ts in a process of its own.
import { nsTest, PRIVILEGED } from "./_env.ts";
import { runScenario, UNPRIVILEGED_REASON } from "./_user.ts";
import { rootfsReason } from "./_rootfs.ts";
import { toolsReason } from "./_attack.ts";

const MODULE = "tests/integration/_attack_memory.ts";

/** The pods: none, a pid namespace with its /proc, a busybox root. */
const KINDS: [string, string][] = [
  ["plain", "a pod without a pid namespace"],
  ["pid", "a --pid --proc /proc pod"],
  ["root", "a --root DIR --proc /proc --dev /dev pod"],
];

for (const [kind, what] of KINDS) {
  nsTest(
    `boundary: ${what}: its root reads nothing of the caller through a joining child (environ, mem, ptrace)`,
    async (t) => {
      if (PRIVILEGED) {
        await t.step("as root", async () => {
          console.log(await runScenario(MODULE, "memory", { args: [kind] }));
        });
      }
      await t.step("unprivileged", async () => {
        console.log(
          await runScenario(MODULE, "memory", {
            args: [kind],
            unprivileged: true,
          }),
        );
      });
    },
    toolsReason ?? UNPRIVILEGED_REASON ??
      (kind === "root" ? rootfsReason : undefined),
  );
}
