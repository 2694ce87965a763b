// What the pod tests share: a private XDG_RUNTIME_DIR per test, unique pod
// names, the CLI run with that directory, and a clean-up that kills every
// holder a test started, whatever happened to the test.
import assert from "node:assert/strict";
import { UsernsError } from "../../lib/mod.ts";
import { cli } from "./_env.ts";
import { alive, delay } from "./_process.ts";

/** What a CLI run printed and how it ended. */
export interface CliOutput {
  /** Exit code. */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

let counter = 0;

/** The command line of a process, NULs as spaces, or "" when it is gone. */
export function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`)
      .replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/**
 * The running (not zombie) holders whose pod name starts with `prefix`:
 * processes whose command line is `userns-pause NAME`.
 *
 * @param prefix the start of the pod names
 * @returns their pids
 */
export function holders(prefix: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    if (cmdline(pid).startsWith(`userns-pause ${prefix}`) && alive(pid)) {
      found.push(pid);
    }
  }
  return found;
}

/** The user namespace inode of a process, or undefined when unreadable. */
export function usernsOf(pid: number | "self"): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

/**
 * The running processes in the user namespace `ns` (as `readlink
 * /proc/PID/ns/user` shows it).
 *
 * @param ns the namespace, `user:[N]`
 * @returns their pids
 */
export function inUserns(ns: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (Number.isInteger(pid) && usernsOf(pid) === ns && alive(pid)) {
      found.push(pid);
    }
  }
  return found;
}

/** Sends SIGKILL to each pid, ignoring the ones gone already. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * One test's pods: a private XDG_RUNTIME_DIR (mode 700), names that no
 * other test (or test process) uses, and {@link PodPlace.close}, which kills
 * what is left and removes the directory. Create with
 * {@link PodPlace.create}; always close in `finally`.
 */
export class PodPlace {
  /** Every pod name made here starts with this. */
  readonly prefix: string;

  private constructor(
    /** The XDG_RUNTIME_DIR of the pods. */
    readonly runtime: string,
  ) {
    this.prefix = `t${Deno.pid}-${++counter}-`;
  }

  /** The state directory the pods are recorded in. */
  get state(): string {
    return `${this.runtime}/userns`;
  }

  /**
   * Makes the directory.
   *
   * @returns the place
   */
  static async create(): Promise<PodPlace> {
    const dir = await Deno.makeTempDir({ prefix: "uns-pod-" });
    await Deno.chmod(dir, 0o700);
    return new PodPlace(dir);
  }

  /**
   * A pod name unique to this place.
   *
   * @param tag what the pod is for
   * @returns the name
   */
  name(tag: string): string {
    return `${this.prefix}${tag}`;
  }

  /** The environment the CLI runs with here. */
  get env(): Record<string, string> {
    return { XDG_RUNTIME_DIR: this.runtime };
  }

  /**
   * Runs the CLI with this place's XDG_RUNTIME_DIR.
   *
   * @param args its arguments
   * @param env more variables
   * @returns its exit code and output
   */
  async cli(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<CliOutput> {
    const out = await cli(args, { env: { ...this.env, ...env } });
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  }

  /**
   * Runs the CLI and fails unless it exits 0.
   *
   * @param args its arguments
   * @returns what it printed on stdout
   * @throws {Error} with its exit code and stderr
   */
  async must(args: string[]): Promise<string> {
    const out = await this.cli(args);
    if (out.code !== 0) {
      throw new Error(
        `userns ${args.join(" ")}: exit ${out.code}: ${out.stderr}`,
      );
    }
    return out.stdout;
  }

  /**
   * Runs `fn` with XDG_RUNTIME_DIR set to this place in this process (for
   * the library), then puts the variable back.
   *
   * @param fn what to run
   * @returns what it returns
   */
  async use<T>(fn: () => Promise<T> | T): Promise<T> {
    const old = Deno.env.get("XDG_RUNTIME_DIR");
    Deno.env.set("XDG_RUNTIME_DIR", this.runtime);
    try {
      return await fn();
    } finally {
      if (old === undefined) Deno.env.delete("XDG_RUNTIME_DIR");
      else Deno.env.set("XDG_RUNTIME_DIR", old);
    }
  }

  /** The holders of this place's pods that still run. */
  holders(): number[] {
    return holders(this.prefix);
  }

  /** The files in the state directory (none when it does not exist). */
  files(): string[] {
    try {
      return [...Deno.readDirSync(this.state)].map((e) => e.name).sort();
    } catch {
      return [];
    }
  }

  /**
   * Asserts that no holder of this place's pods still runs: call it last
   * in a test, before {@link PodPlace.close} in `finally` (which would
   * hide the test's own failure if it threw).
   */
  assertStopped(): void {
    const left = this.holders();
    if (left.length) {
      throw new Error(`holders left running: ${left.map(cmdline).join(", ")}`);
    }
  }

  /**
   * Kills every holder of this place's pods that still runs (and with them
   * their pid namespaces), waits for them to end, and removes the
   * directory.
   */
  async close(): Promise<void> {
    killAll(this.holders());
    for (let i = 0; i < 100 && this.holders().length; i++) await delay(10);
    await Deno.remove(this.runtime, { recursive: true }).catch(() => {});
  }
}

/**
 * Asserts a CLI refusal: exit 125, nothing on stdout, one line on stderr
 * starting with `userns: ` and matching `re`.
 *
 * @param out what the CLI did
 * @param re what the line must say
 */
export function refused(out: CliOutput, re: RegExp): void {
  assert.equal(out.code, 125, `${out.stdout}${out.stderr}`);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^userns: [^\n]*\n$/, `one line: ${out.stderr}`);
  assert.match(out.stderr, re);
}

/**
 * Asserts a library refusal: a UsernsError with `code` and a one-line
 * message matching `re`.
 *
 * @param e what was thrown
 * @param code its expected code
 * @param re what the message must say
 */
export function podError(e: unknown, code: string, re: RegExp): void {
  assert.ok(e instanceof UsernsError, `want a UsernsError, got ${e}`);
  assert.equal(e.code, code, e.message);
  assert.doesNotMatch(e.message, /\n/);
  assert.match(e.message, re);
}
