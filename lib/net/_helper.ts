/**
 * A helper process (pasta or slirp4netns) as a child of this process: its
 * readiness line on stdout, its stderr kept (the last part) for messages,
 * and an end that always reaps it. Private to lib/net.
 *
 * @module
 */

/** How much of a helper's stderr is kept, from the end. */
const KEEP = 16 * 1024;

/** What {@link HelperProcess.ready} saw. */
export type Readiness =
  | { ready: true; line: string }
  | { ready: false; timedOut: boolean };

/** A running helper. */
export class HelperProcess {
  /** Its pid. */
  readonly pid: number;
  /** How it ended, once it has (reaped). */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  readonly #drained: Promise<void>;
  #stderr = "";
  #exited = false;

  /**
   * Starts `argv` with a clean environment, stdout and stderr piped.
   *
   * @param argv the program (absolute) and its arguments
   * @param stdin "piped": fd 0 is a pipe this process holds until
   *   {@link end} (slirp4netns's exit fd); else /dev/null
   * @throws what `Deno.Command.spawn()` throws
   */
  constructor(argv: readonly string[], stdin: "piped" | "null") {
    this.#child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin,
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
    }).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    if (stdin === "piped") this.#stdin = this.#child.stdin.getWriter();
    this.#drained = this.#drain();
  }

  async #drain(): Promise<void> {
    const text = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderr = (this.#stderr + text.decode(chunk, { stream: true }))
          .slice(-KEEP);
      }
    } catch {
      // the pipe broke: what was read is kept
    }
  }

  /**
   * Waits for the first line on stdout (up to a newline, or up to EOF
   * when something came): the helper's "ready". Stdout is closed then.
   *
   * @param ms how long to wait
   * @returns the line, or why there was none (EOF, or the time ran out)
   */
  async ready(ms: number): Promise<Readiness> {
    const reader = this.#child.stdout.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) =>
      timer = setTimeout(() => r("late"), ms)
    );
    const text = new TextDecoder();
    let got = "";
    try {
      while (!got.includes("\n")) {
        const r = await Promise.race([reader.read(), late]);
        if (r === "late") return { ready: false, timedOut: true };
        if (r.done) break;
        got += text.decode(r.value, { stream: true });
      }
      return got
        ? { ready: true, line: got.trim() }
        : { ready: false, timedOut: false };
    } finally {
      clearTimeout(timer);
      await reader.cancel().catch(() => {});
    }
  }

  /** Its stderr so far; all of it once it has ended. */
  async stderr(): Promise<string> {
    if (this.#exited) await this.#drained;
    return this.#stderr;
  }

  /**
   * Ends it and reaps it: closes its stdin (slirp4netns's exit fd), sends
   * SIGTERM, and SIGKILL after `graceMs`.
   *
   * @param graceMs how long SIGTERM has
   * @returns how it ended
   */
  async end(graceMs = 1000): Promise<Deno.CommandStatus> {
    await this.#stdin?.close().catch(() => {});
    this.#signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) =>
      timer = setTimeout(() => r("late"), graceMs)
    );
    if (await Promise.race([this.status, late]) === "late") {
      this.#signal("SIGKILL");
    }
    clearTimeout(timer);
    const status = await this.status;
    await this.#drained;
    return status;
  }

  #signal(sig: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(sig);
    } catch {
      // it has just ended: nothing to signal
    }
  }

  /** Lets this process exit while the helper runs (a pod's, detached). */
  unref(): void {
    this.#child.unref();
  }
}
