import assert from "node:assert/strict";
import { signalNumber } from "../../lib/command/signals.ts";
import { isUsernsError } from "../../lib/errors/mod.ts";

// What Deno.ChildProcess.kill() takes on Linux (Deno 2.9.6, tried on a
// child): the Deno.Signal names of Linux, aliases included, and integers
// 0-31. tests/integration/parity_test.ts compares kill() with Deno's.
Deno.test("signalNumber() takes what Deno's kill() takes", () => {
  const taken: [unknown, number][] = [
    ["SIGTERM", 15],
    ["SIGKILL", 9],
    ["SIGPOLL", 29],
    ["SIGIO", 29],
    ["SIGUNUSED", 31],
    ["SIGSYS", 31],
    [0, 0],
    [31, 31],
  ];
  for (const [signal, n] of taken) assert.equal(signalNumber(signal), n);
});

Deno.test("signalNumber() refuses what Deno's kill() refuses", () => {
  const refused = [
    "TERM",
    "sigterm",
    "",
    "SIGEMT",
    "SIGINFO",
    "SIGRTMIN",
    "toString",
    32,
    64,
    -1,
    1.5,
    null,
    undefined,
  ];
  for (const signal of refused) {
    assert.throws(
      () => signalNumber(signal),
      (e) =>
        e instanceof TypeError && isUsernsError(e) &&
        e.code === "INVALID_ARGUMENT",
      String(signal),
    );
  }
});
