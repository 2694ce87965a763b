// README, "The boundary": "Your memory stays yours" for the init of a pid
// namespace too. A command, as inside root, changes the mode of the sealed
// copy its userns-init runs from; the next command's init must still be
// that sealed program, never code left in the caller's memory. Run as the
// caller and, as root, as the test user too. The scenario:
// _attack_init.ts.
import { nsTest, PRIVILEGED } from "./_env.ts";
import { runScenario, UNPRIVILEGED_REASON } from "./_user.ts";
import { toolsReason } from "./_attack.ts";

const MODULE = "tests/integration/_attack_init.ts";

nsTest(
  "boundary: a command cannot make the next init stay in the caller's memory (chmod of /proc/1/exe)",
  async (t) => {
    if (PRIVILEGED) {
      await t.step("as root", async () => {
        await runScenario(MODULE, "init");
      });
    }
    await t.step("unprivileged", async () => {
      await runScenario(MODULE, "init", { unprivileged: true });
    });
  },
  toolsReason ?? UNPRIVILEGED_REASON,
);
