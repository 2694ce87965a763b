// What a scenario process holds (its children, zombies, threads and fds)
// and how to wait for it to change; and the small tools the scenarios of
// _guarantees.ts share. No side effects at load.
import { delay, fdTargets } from "./_process.ts";

/** Fields of /proc/PID/stat after the command name, or undefined. */
export function stat(pid: number): string[] | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Our children that are zombies, found by their parent in /proc/* /stat. */
export function zombies(): number[] {
  return [...Deno.readDirSync("/proc")].flatMap((e) => {
    const s = /^\d+$/.test(e.name) ? stat(Number(e.name)) : undefined;
    return s && s[0] === "Z" && Number(s[1]) === Deno.pid
      ? [Number(e.name)]
      : [];
  });
}

/**
 * Waits until no pid of `pids` is in /proc any more: killed and reaped (a
 * zombie is still there). Returns those left, as `PID:STATE`.
 */
export async function reaped(pids: number[], ms = 2000): Promise<string[]> {
  const left = () =>
    pids.filter((p) => stat(p) !== undefined).map((p) =>
      `${p}:${stat(p)?.[0] ?? "gone"}`
    );
  for (const end = Date.now() + ms; left().length && Date.now() < end;) {
    await delay(10);
  }
  return left();
}

/** This process's threads, `TID name`. */
export function threads(): string[] {
  return [...Deno.readDirSync("/proc/self/task")].flatMap((t) => {
    try {
      const comm = Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`);
      return [`${t.name} ${comm.trim()}`];
    } catch {
      return []; // ended meanwhile
    }
  });
}

/**
 * A thread of Deno's own, reading a socket, which it starts at some moment
 * after its first Workers have come and gone, whatever they spawned (with
 * Deno.Command only, too): not one of the library's.
 */
export const RUNTIME_OWN = /^\d+ deno unix_stream_read_generic$/;

/** Where a thread waits: `TID name wchan`. */
export function waiting(thread: string): string {
  const tid = thread.split(" ")[0];
  try {
    return `${thread} ${Deno.readTextFileSync(`/proc/self/task/${tid}/wchan`)}`;
  } catch {
    return `${thread} (ended)`;
  }
}

/**
 * What this process's fds are, without their numbers (the runtime closes
 * and reopens an eventfd and an epoll fd of its own as Workers come and
 * go), sorted: a multiset to compare.
 */
export function fdKinds(): string[] {
  return fdTargets().map((t) => t.replace(/^\d+ -> /, "")).sort();
}

/** Calls `read` until `ok` accepts what it returns, at most `ms`. */
export async function settle<T>(
  read: () => T,
  ok: (v: T) => boolean,
  ms = 3000,
): Promise<T> {
  let v = read();
  for (const end = Date.now() + ms; !ok(v) && Date.now() < end; v = read()) {
    await delay(20);
  }
  return v;
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const temps: string[] = [];

/** A temporary directory, removed by {@link removeTemps}. */
export function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "userns-guarantee-" });
  temps.push(dir);
  return dir;
}

/** Removes the directories {@link tempDir} made, whatever is in them. */
export function removeTemps(): void {
  for (const dir of temps.splice(0)) Deno.removeSync(dir, { recursive: true });
}

/** Writes an executable `dir/name` with this body. */
export function script(dir: string, name: string, body: string): void {
  Deno.writeTextFileSync(`${dir}/${name}`, body);
  Deno.chmodSync(`${dir}/${name}`, 0o755);
}

/** Puts `dir` first on this process's PATH (its Workers' too). */
export function prependPath(dir: string): void {
  Deno.env.set("PATH", `${dir}:${Deno.env.get("PATH") ?? ""}`);
}

/** Prints a measurement for the test's log. */
export function report(name: string, value: unknown): void {
  console.log(`${name}: ${value}`);
}
