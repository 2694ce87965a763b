// An /etc/passwd the caller cannot read is named as the cause, never taken
// for "no subordinate ids".
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { type DoctorCheck, runDoctor } from "../../lib/inspect/doctor.ts";
import { UsernsError } from "../../lib/errors/mod.ts";
import { currentIdentity, readPasswd } from "../../lib/system/identity.ts";
import { cliAsUser, UNPRIVILEGED_REASON, USER } from "./_user.ts";

const HINT = "make it readable by all (chmod a+r DIR), as it is by default";

Deno.test("currentIdentity() and readPasswd(): an unreadable passwd is the cause", () => {
  // A directory cannot be read as a file, by root either.
  const dir = Deno.makeTempDirSync({ prefix: "userns-passwd-" });
  try {
    const id = currentIdentity(dir);
    assert.deepEqual(id, {
      uid: Deno.uid(),
      gid: Deno.gid(),
      passwdError: {
        what: `cannot read ${dir}: EISDIR`,
        hint: HINT.replace("DIR", dir),
      },
    });
    assert.throws(
      () => readPasswd(dir),
      (e) =>
        e instanceof UsernsError && e.code === "FILE_READ" &&
        e.message === `cannot read ${dir}: EISDIR; ${HINT.replace("DIR", dir)}`,
    );
    const missing = currentIdentity(`${dir}/none`);
    assert.equal(missing.passwdError, undefined);
    assert.equal(missing.name, undefined);
  } finally {
    Deno.removeSync(dir);
  }
});

Deno.test("doctor: an unreadable passwd is named in the sub-ID and group checks", async () => {
  const passwdError = {
    what: "cannot read /etc/passwd: EACCES",
    hint: HINT.replace("DIR", "/etc/passwd"),
  };
  const dir = Deno.makeTempDirSync({ prefix: "userns-passwd-" });
  try {
    Deno.writeTextFileSync(`${dir}/ids`, "nsuser:200000:65536\n");
    const checks = await runDoctor({
      identity: { uid: 1001, gid: 1001, passwdError },
      subuid: `${dir}/ids`,
      subgid: `${dir}/ids`,
    });
    const pick = (name: string) => checks.find((c) => c.check === name);
    assert.deepEqual(pick("subordinate ids"), {
      check: "subordinate ids",
      status: "fail",
      detail: `uids none in ${dir}/ids, gids none in ${dir}/ids: cannot read ` +
        "/etc/passwd: EACCES, so ranges listed under your name are not seen",
      hint: passwdError.hint,
    });
    assert.deepEqual(pick("primary group"), {
      check: "primary group",
      status: "warn",
      detail: "cannot read /etc/passwd: EACCES: cannot check your entry",
      hint: passwdError.hint,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// Root hides /etc/passwd from the test user in a private mount namespace.
skippableTest(
  "CLI: subids and doctor with /etc/passwd unreadable say so",
  { onlyAs: "root", needs: UNPRIVILEGED_REASON },
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "userns-passwd-" });
    try {
      const copy = `${dir}/passwd`;
      Deno.copyFileSync("/etc/passwd", copy);
      Deno.chmodSync(copy, 0o000);
      const hide = [
        "unshare",
        "--mount",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/passwd && exec "$@"',
        copy,
      ];
      const subids = await cliAsUser(["subids"], {}, hide);
      assert.deepEqual([subids.code, subids.stdout, subids.stderr], [
        1,
        "",
        "userns: cannot read /etc/passwd: EACCES; " +
        HINT.replace("DIR", "/etc/passwd") + "\n",
      ]);
      const named = await cliAsUser(["subids", USER], {}, hide);
      assert.equal(named.stderr, subids.stderr);
      const doctor = await cliAsUser(["doctor", "--json"], {}, hide);
      const checks = JSON.parse(doctor.stdout) as DoctorCheck[];
      const ids = checks.find((c) => c.check === "subordinate ids");
      assert.match(
        ids?.detail ?? "",
        /: cannot read \/etc\/passwd: EACCES, so ranges listed under your name are not seen$/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
