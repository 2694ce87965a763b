// The Worker of the teardown scenarios in _guarantees.ts: it imports the
// library, spawns commands that it leaves in one phase, reports their pids,
// and is then torn down by its creator (terminate()) or ends itself
// (close()), with the spawns still in flight.
/// <reference lib="deno.worker" />
import { UsernsCommand } from "../../lib/mod.ts";

/** Where a Worker's spawns are when it is torn down. */
export type Phase = "deno" | "helpers" | "paused" | "running";

/** What the creator asks for. */
export interface Order {
  /** Where the spawns are left. */
  phase: Phase;
  /** How many spawns. */
  count: number;
  /** End with self.close() once the pids are posted. */
  close: boolean;
  /** Where the slow newuidmap records `PID CHILD` (phase "helpers"). */
  dir: string;
}

/** What the Worker reports: the processes it leaves behind it. */
export interface Spawned {
  /** The phase. */
  phase: Phase;
  /** The commands' pids (Deno.Command's for "deno"). */
  pids: number[];
  /** The map helpers running for them (phase "helpers"). */
  helpers: number[];
  /** What went wrong, if anything. */
  error?: string;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The slow newuidmap's record for the child `pid`: its own pid. */
async function helperOf(dir: string, pid: number): Promise<number> {
  for (let i = 0; i < 500; i++) {
    try {
      const m = /^(\d+) (\d+)\n$/.exec(
        await Deno.readTextFile(`${dir}/helper.${pid}`),
      );
      if (m) return Number(m[1]);
    } catch { /* not yet */ }
    await delay(10);
  }
  throw new Error(`no newuidmap started for ${pid}`);
}

/**
 * Spawns one command and waits until it is in `phase`. Only the phase
 * "helpers" runs helpers (the slow newuidmap on PATH): the others map the
 * own ids alone, which needs none.
 */
async function one(o: Order, out: Spawned): Promise<void> {
  const args = ["30"];
  const map = "root";
  switch (o.phase) {
    case "deno": {
      out.pids.push(new Deno.Command("sleep", { args }).spawn().pid);
      return;
    }
    case "running": {
      const child = new UsernsCommand("sleep", { args, map }).spawn();
      out.pids.push(child.pid);
      await child.ready;
      return;
    }
    case "paused": {
      let held!: () => void;
      const reached = new Promise<void>((r) => held = r);
      const child = new UsernsCommand("sleep", {
        args,
        map,
        beforeExec: () => {
          held();
          return new Promise(() => {}); // never released
        },
      }).spawn();
      out.pids.push(child.pid);
      await reached;
      return;
    }
    case "helpers": {
      const child = new UsernsCommand("sleep", { args, map: "auto" }).spawn();
      out.pids.push(child.pid);
      out.helpers.push(await helperOf(o.dir, child.pid));
      return;
    }
  }
}

self.onmessage = async (e: MessageEvent<Order>) => {
  const o = e.data;
  const out: Spawned = { phase: o.phase, pids: [], helpers: [] };
  try {
    await Promise.all(Array.from({ length: o.count }, () => one(o, out)));
  } catch (err) {
    out.error = String((err as Error)?.stack ?? err);
  }
  self.postMessage(out);
  if (o.close) self.close();
};
