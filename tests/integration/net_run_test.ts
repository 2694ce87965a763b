/**
 * A command with user-mode networking, through the library's `beforeExec`
 * hook: published ports, the host's loopback (closed unless asked), the
 * namespace's resolv.conf, and no helper left behind, even after SIGKILL
 * of the process that started it. Each test runs per helper, as the caller
 * and (as root) as the test user.
 *
 * Only 127.0.0.1 is contacted, and the gateway only where it is mapped to
 * the host's 127.0.0.1; "closed" is shown in a network namespace the test
 * made to play the host, where nothing leads off the machine.
 */
import assert from "node:assert/strict";
import { text } from "./_env.ts";
import {
  fakeHost,
  netTest,
  scenario,
  scriptCommand,
  type Who,
} from "./_net_runner.ts";
import { gone, helpersOf } from "./_net_scenarios.ts";

interface Ran {
  out: string;
  code: number;
  helper: number;
  child: number;
  left: number[];
}

/** The helper ran, and neither it nor a process attached to the child is left. */
function assertEnded(r: Ran): void {
  assert.ok(r.helper > 0);
  assert.deepEqual(r.left, [], `left running: ${r.left}`);
}

netTest(
  "a server inside answers on a published 127.0.0.1 port",
  async (helper, who) => {
    const r = await scenario<Ran & { during: string }>(who, "publish", {
      helper,
    });
    assert.equal(r.during, "hello-from-inside\n");
    assert.equal(r.code, 0);
    assertEnded(r);
  },
);

netTest(
  "the namespace's resolv.conf names the helper's resolver",
  async (helper, who) => {
    const r = await scenario<Ran & { written: string }>(who, "resolv", {
      helper,
    });
    const want = helper === "pasta" ? "169.254.0.1" : "10.0.2.3";
    assert.equal(r.out.split("\n")[0], `nameserver ${want}`);
    assert.equal(r.out, r.written);
    assertEnded(r);
  },
);

interface Loopback extends Ran {
  gateway: string;
  viaGateway: boolean;
  viaLoopback: boolean;
}

netTest(
  "the host's 127.0.0.1 is closed by default (in a network namespace playing the host)",
  async (helper, who) => {
    const { wrap, map } = fakeHost();
    const closed = await scenario<Loopback>(who, "hostLoopback", {
      helper,
      map,
    }, wrap);
    assert.equal(
      closed.gateway,
      helper === "pasta" ? "198.51.100.1" : "10.0.2.2",
    );
    assert.equal(closed.viaGateway, false, closed.out);
    assert.equal(closed.viaLoopback, false, closed.out);
    assertEnded(closed);
    // The same host, the same server, opened: what was closed was the helper's doing.
    const open = await scenario<Loopback>(who, "hostLoopback", {
      helper,
      map,
      allowHostLoopback: true,
    }, wrap);
    assert.equal(open.viaGateway, true, open.out);
    assert.equal(open.viaLoopback, false, open.out);
    assertEnded(open);
  },
);

netTest(
  "the host's 127.0.0.1 is reachable through the gateway with allowHostLoopback",
  async (helper, who) => {
    const r = await scenario<Loopback>(who, "hostLoopback", {
      helper,
      allowHostLoopback: true,
    });
    assert.equal(r.viaGateway, true, r.out);
    assert.equal(r.viaLoopback, false, r.out); // -T none: not through the namespace's own 127.0.0.1
    assertEnded(r);
  },
);

/** Starts `hold` as a script, reads who runs, SIGKILLs the Deno process. */
async function holdThenKill(who: Who, helper: string) {
  const argv = scriptCommand(who, "hold", { helper });
  const p = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const reader = p.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    line += text(r.value);
  }
  await reader.cancel();
  const stderr = new Response(p.stderr).text();
  if (!line.includes("\n")) {
    await p.status;
    throw new Error(`hold ended early: ${await stderr}`);
  }
  const ran = JSON.parse(line) as {
    deno: number;
    child: number;
    helper: number;
    helpers: number[];
    tempDirs: string[];
  };
  const before = helpersOf(ran.child);
  Deno.kill(ran.deno, "SIGKILL");
  await p.status;
  await stderr;
  return {
    ...ran,
    before,
    left: await gone([ran.helper, ran.child]),
    attached: helpersOf(ran.child),
  };
}

netTest(
  "no helper is left after SIGKILL of the Deno process that started it",
  async (helper, who) => {
    const r = await holdThenKill(who, helper);
    assert.deepEqual(r.before, [r.helper]); // it ran, attached to the child
    assert.deepEqual(r.tempDirs, []); // nothing of it on disk to leave behind
    assert.deepEqual(r.left, []);
    assert.deepEqual(r.attached, []);
  },
);
