// Spawn latency, warm and sequential: the library against what a Deno user
// does without it (Deno.Command running unshare with the auto maps).
import { UsernsCommand } from "../../lib/mod.ts";

const UNSHARE = [
  "--user",
  "--map-users=auto",
  "--map-groups=auto",
  "--map-root-user",
  "true",
];
const quiet = { stdout: "null", stderr: "null" } as const;

await new UsernsCommand("true", quiet).output(); // load the library

Deno.bench("UsernsCommand(true).output(), auto map", {
  group: "spawn",
  baseline: true,
}, async () => {
  await new UsernsCommand("true", quiet).output();
});

Deno.bench("Deno.Command(unshare --map-users=auto ... true)", {
  group: "spawn",
}, async () => {
  await new Deno.Command("unshare", { args: UNSHARE, ...quiet }).output();
});

Deno.bench("Deno.Command(true), no namespace", { group: "spawn" }, async () => {
  await new Deno.Command("true", quiet).output();
});
