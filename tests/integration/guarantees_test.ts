// The library's guarantees under faults and bad input, each proved in a process of
// its own (_guarantees.ts): a torn-down Worker, a map helper that never
// ends, an onWarning that throws, a child signalled before it executes,
// and a huge request. Each asserts the exact error or status and that
// nothing is left: no fd, no child or zombie, no helper, no new thread, no
// memory.
//
// Helpers run only unprivileged (root writes the maps itself): as root,
// those scenarios run as the test user, so that both runs of the suite
// prove the same.
import { nsTest, PRIVILEGED } from "./_env.ts";
import { runScenario, type ScenarioRun, UNPRIVILEGED_REASON } from "./_user.ts";

const MODULE = "tests/integration/_guarantees.ts";

/** Runs a scenario of _guarantees.ts and logs what it measured. */
async function scenario(name: string, run: ScenarioRun = {}): Promise<void> {
  const t0 = performance.now();
  const out = await runScenario(MODULE, name, run);
  const who = run.unprivileged && PRIVILEGED ? " (unprivileged)" : "";
  const ms = Math.round(performance.now() - t0);
  console.log(`${name} ${run.args?.join(" ") ?? ""}${who}: ${ms} ms`);
  for (const line of out.trim().split("\n").filter(Boolean)) {
    console.log(`  ${line}`);
  }
}

/** What the unprivileged scenarios need as root. */
const unprivileged = UNPRIVILEGED_REASON;

nsTest(
  "a Worker torn down with spawns in flight: no crash, children killed and reaped as Deno.Command's, threads and fds as before",
  async (t) => {
    for (const mode of ["terminate", "close"]) {
      await t.step(`${mode}()`, async () => {
        // Paused in beforeExec, and running after exec, as the caller.
        const phases = ["paused", "running"];
        if (PRIVILEGED) {
          await scenario("workers", { args: [mode, ...phases] });
        }
        // During the map helpers, which only run unprivileged.
        await scenario("workers", {
          args: [mode, "helpers", ...phases],
          unprivileged: true,
        });
      });
    }
  },
  unprivileged,
);

nsTest(
  "a map helper that never ends: HELPER_TIMEOUT in time, abort and kill() within 100 ms, outputSync() too; no helper or child is left",
  () => scenario("hung-helper", { unprivileged: true }),
  unprivileged,
);

nsTest(
  "an onWarning that throws: spawn() throws its error, 70 times without a paused child or an fd left",
  () => scenario("warning-throws", { unprivileged: true }),
  unprivileged,
);

nsTest(
  "children that end while the isolate spawns on synchronously: their queued events overflow nothing",
  () => scenario("unread-events"),
);

nsTest(
  "a child signalled before it executes writes no core; the command gets the caller's core limit back, or rlimits.core",
  () => scenario("core"),
);

nsTest(
  "pooled regions shrink back after 8 spawns of 40 MiB each",
  () => scenario("regions", { flags: ["--v8-flags=--expose-gc"] }),
);
