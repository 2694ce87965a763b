/**
 * `userns doctor`: one line per check, with a hint under each that is not ok.
 *
 * @module
 */
import { type DoctorCheck, runDoctor } from "../inspect/doctor.ts";
import {
  HELP,
  helpText,
  maxOperands,
  type OptionSpecs,
  parse,
} from "./args.ts";

/** Options of `userns doctor`. */
export const DOCTOR_OPTIONS: OptionSpecs = {
  json: {
    type: "boolean",
    help: "print an array of {check,status,detail,hint}",
  },
  help: HELP,
};

const USAGE = "Usage: userns doctor [--json]\n\n" +
  "Checks what a user namespace with your subordinate ids needs; exit 1 if anything fails.";

/**
 * Formats one check: `ok   check: detail`, then `      hint: ...` unless ok.
 *
 * @param c the check
 * @returns one or two lines
 */
export function formatCheck(c: DoctorCheck): string {
  const line = `${c.status.padEnd(4)} ${c.check}: ${c.detail}`;
  return c.status === "ok" ? line : `${line}\n      hint: ${c.hint}`;
}

/**
 * `userns doctor`.
 *
 * @param argv arguments after `doctor`
 * @returns 1 if any check failed, else 0
 * @throws {UsernsError} INVALID_ARGUMENT for a bad option or an operand
 */
export async function doctor(argv: string[]): Promise<number> {
  const { values, operands } = parse(argv, DOCTOR_OPTIONS, false);
  if (values.help) {
    console.log(helpText(USAGE, DOCTOR_OPTIONS));
    return 0;
  }
  maxOperands(operands, 0);
  const checks = await runDoctor();
  if (values.json) console.log(JSON.stringify(checks));
  else for (const c of checks) console.log(formatCheck(c));
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
