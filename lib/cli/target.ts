/**
 * The PID operand of `userns enter`: checked before anything is spawned, so
 * that a missing, malformed, vanished or foreign target is one clear line.
 *
 * @module
 */
import { UsernsError } from "../errors/mod.ts";
import { usageError } from "./args.ts";

/**
 * Parses the target operand and checks that its user namespace can be read.
 *
 * @param operand the word after the options, if any
 * @param proc the proc file system @default "/proc"
 * @returns the pid
 * @throws {UsernsError} INVALID_ARGUMENT when it is missing or not a pid;
 *   PROC_READ when the process does not exist or the caller may not
 *   inspect it (EACCES: another user's, or root's outside a container)
 * @throws {Deno.errors.NotCapable} without Deno's permission to read it
 */
export function targetPid(operand: string | undefined, proc = "/proc"): number {
  if (operand === undefined) throw usageError("missing PID or NAME");
  const pid = Number(operand);
  if (!/^[0-9]+$/.test(operand) || !Number.isSafeInteger(pid) || pid < 1) {
    throw usageError(`invalid pid ${JSON.stringify(operand)}`);
  }
  const path = `${proc}/${pid}/ns/user`;
  try {
    Deno.readLinkSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    const code = (e as { code?: unknown }).code;
    const errno = typeof code === "string" ? code : undefined;
    const [why, hint] = e instanceof Deno.errors.NotFound
      ? ["no such process", "check the pid (userns ps)"]
      : [
        `${
          errno ?? (e as Error).name
        }: not permitted to inspect process ${pid}`,
        "name one of your own processes (userns ps lists those you can see)",
      ];
    throw new UsernsError("PROC_READ", `cannot read ${path}: ${why}`, {
      hint,
      cause: e,
      ...(errno ? { errno } : {}),
    });
  }
  return pid;
}
