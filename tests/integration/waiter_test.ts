// The native waiter's event queue and the helpers' deadline timer, with real
// fds, timers and helpers.
import assert from "node:assert/strict";
import { EV_SLOTS, Event } from "../../ffi/abi.ts";
import { raw } from "../../ffi/raw.ts";
import { nsTest } from "./_env.ts";
import { runScenario, UNPRIVILEGED_REASON } from "./_user.ts";

Deno.test("an fd closed with its event queued takes the event with it: a reused number never gets it", () => {
  const out = new Int32Array(2);
  assert.equal(raw.ctxOpen(out), 0);
  const [ctx, alive] = [out[0]!, out[1]!];
  try {
    const fd = raw.timer(ctx, 0);
    assert.ok(fd >= 0, `timer: ${fd}`);
    assert.equal(raw.watch(fd, Event.READ), 0);
    // Blocks until the waiter thread has queued the timer's event.
    assert.ok(raw.ctxWait(ctx, 5000) > 0, "the timer fired");
    assert.equal(raw.close(fd), 0);
    const next = raw.timer(ctx, 60_000); // most likely the same number
    assert.ok(next >= 0, `timer: ${next}`);
    const events = new Int32Array(8 * EV_SLOTS);
    assert.equal(raw.ctxTake(ctx, events, 8), 0, "no event is left");
    assert.equal(raw.close(next), 0);
  } finally {
    raw.close(alive); // the context goes with its liveness pipe
  }
});

nsTest(
  "helpers that ended before their deadline, seen after it in one batch: the spawn succeeds",
  async () => {
    // Helpers run only unprivileged: as root, as the test user.
    await runScenario("tests/integration/_faults.ts", "late-deadline", {
      unprivileged: true,
    });
  },
  UNPRIVILEGED_REASON,
);
