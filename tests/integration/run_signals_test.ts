// Every catchable signal reaches a command in a new pid namespace through
// userns-init: sent by kill() of the library, or to the userns CLI.
import assert from "node:assert/strict";
import { UsernsCommand } from "../../lib/mod.ts";
import { MAIN, nsTest } from "./_env.ts";
import { within } from "./_process.ts";

/** Every signal a process can catch, but SIGCHLD, which init keeps. */
const CATCHABLE = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGCONT",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
] as const;

/** Traps each signal with a line that names it, then waits. */
const TRAPS = (signals: readonly string[]) =>
  signals.map((s) => `trap 'echo got ${s}' ${s.slice(3)}`).join("; ") +
  "; echo ready; while :; do read x; done";

/** Sends each signal, reading the trap's line for it. */
async function forwardEach(
  out: ReadableStream<Uint8Array>,
  send: (sig: Deno.Signal) => void,
  signals: readonly Deno.Signal[],
): Promise<string[]> {
  const lines = out.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const line = async () => {
    while (!buf.includes("\n")) {
      const { value, done } = await within(lines.read(), "a trap's line");
      if (done) throw new Error(`the command ended; it printed ${buf}`);
      buf += value;
    }
    const [first, ...rest] = buf.split("\n");
    buf = rest.join("\n");
    return first!;
  };
  assert.equal(await line(), "ready");
  const got: string[] = [];
  for (const sig of signals) {
    send(sig);
    got.push(await line());
  }
  lines.releaseLock();
  return got;
}

nsTest(
  "pid namespace: every catchable signal reaches the command",
  async () => {
    const child = new UsernsCommand("sh", {
      args: ["-c", TRAPS(CATCHABLE)],
      namespaces: ["pid"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    try {
      const got = await forwardEach(
        child.stdout,
        (sig) => child.kill(sig),
        CATCHABLE,
      );
      assert.deepEqual(got, CATCHABLE.map((s) => `got ${s}`));
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
);

nsTest(
  "run --pid: signals to userns reach the command through init",
  async () => {
    const signals = ["SIGUSR1", "SIGHUP", "SIGWINCH", "SIGTERM"] as const;
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "run",
        "--pid",
        "--",
        "sh",
        "-c",
        TRAPS(signals),
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    try {
      const got = await forwardEach(
        proc.stdout,
        (sig) => proc.kill(sig),
        signals,
      );
      assert.deepEqual(
        got,
        signals.map((s) => `got ${s}`),
      );
    } finally {
      proc.kill("SIGKILL");
      await proc.status;
    }
  },
);
