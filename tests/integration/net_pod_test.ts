/**
 * A pod's network (what `userns start --network ... -p` will run): started
 * at the holder's beforeExec, detached, it serves the published port,
 * outlives the process that started it, and ends at stop, which the pod's
 * record makes possible; pasta also ends when only its netns link is
 * removed (as the sweep of a dead pod's record will do).
 */
import assert from "node:assert/strict";
import type { PodNetwork } from "../../lib/net/mod.ts";
import { needs, netTest, scenario } from "./_net_runner.ts";
import { nsTest } from "./_env.ts";
import { running } from "./_net_scenarios.ts";

interface Pod {
  net: PodNetwork;
  dir: string;
  got: string;
  parent: number;
  files: string[];
  deno: number;
}

const FILES = {
  pasta: ["p.netns"],
  slirp4netns: ["p.slirp.log", "p.slirp.sock"],
};

netTest(
  "a pod's network serves its published port and ends at stop",
  async (helper, who) => {
    const r = await scenario<
      Pod & { stopped: boolean; running: boolean; after: string[] }
    >(who, "pod", { helper });
    assert.equal(r.got, "hello-pod\n");
    assert.equal(r.net.helper, helper);
    assert.deepEqual(r.files, FILES[helper]);
    // pasta forked to the background: not a child of the starter at all.
    if (helper === "pasta") assert.notEqual(r.parent, r.deno);
    assert.equal(r.stopped, true);
    assert.equal(r.running, false);
    assert.deepEqual(r.after, []);
  },
);

netTest(
  "a pod's network outlives the process that started it, and ends at stop",
  async (helper, who) => {
    const r = await scenario<Pod>(who, "pod", { helper, keep: true }, [], true);
    assert.equal(r.got, "hello-pod\n");
    assert.equal(running(r.deno), false); // the starter has exited
    assert.equal(running(r.net.pid), true); // its helper has not
    const s = await scenario<
      { stopped: boolean; alive: boolean; after: string[] }
    >(who, "podStop", {
      net: r.net,
      dir: r.dir,
    });
    assert.deepEqual(s, { stopped: true, alive: false, after: [] });
  },
);

nsTest(
  "pasta: removing a pod's netns link alone ends its network",
  async () => {
    const r = await scenario<Pod>(
      "caller",
      "pod",
      { helper: "pasta", keep: true },
      [],
      true,
    );
    assert.equal(running(r.net.pid), true);
    const s = await scenario<
      { stopped: boolean; alive: boolean; after: string[] }
    >("caller", "podStop", {
      net: r.net,
      dir: r.dir,
      linkOnly: true,
    });
    assert.deepEqual(s, { stopped: true, alive: false, after: [] });
  },
  needs("pasta"),
);
