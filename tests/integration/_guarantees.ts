// The scenarios of guarantees_test.ts (the library's guarantees under faults
// and bad input: README, "The library", Faults), each in a process of its own: a Worker torn down with spawns in
// flight could crash the whole process, and the others change what a
// process has for all of it (PATH, RLIMIT_CORE, the cwd) or measure all of
// it (its threads, fds and resident memory).
//
// `deno run -A _guarantees.ts SCENARIO [ARG...]` exits 0 and prints
// `scenario SCENARIO: ok` on stderr, or throws what went wrong; what it
// measured goes to stdout, one `name: value` per line. Like _faults.ts it
// does not import _env.ts, whose probe would spawn at load.
import { UsernsCommand } from "../../lib/mod.ts";
import { removeTemps } from "./_holdings.ts";
import { coreScenario } from "./_guarantee_core.ts";
import { unreadEvents, warningThrows } from "./_guarantee_callbacks.ts";
import { hungHelperScenario } from "./_guarantee_helpers.ts";
import { regions } from "./_guarantee_regions.ts";
import { workers } from "./_guarantee_workers.ts";
import type { Phase } from "./_worker.ts";

const SCENARIOS: Record<string, (...args: string[]) => Promise<void>> = {
  workers: (mode, ...phases) => workers(mode!, ...(phases as Phase[])),
  "hung-helper": hungHelperScenario,
  "warning-throws": warningThrows,
  "unread-events": unreadEvents,
  core: coreScenario,
  regions,
};

if (import.meta.main) {
  const [name = "", ...args] = Deno.args;
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`no scenario "${name}"`);
  const home = Deno.cwd();
  // The library's lasting fds (its context, its file) exist before any
  // scenario looks: one spawn that needs no helper. The Workers' scenario
  // leaves this isolate without the library.
  if (name !== "workers") {
    await new UsernsCommand("true", { map: "root", stdout: "null" }).output();
  }
  try {
    await scenario(...args);
  } finally {
    Deno.chdir(home);
    removeTemps();
  }
  console.error(`scenario ${name}: ok`);
}
