// Why a helper is not found: an unsearchable PATH directory, a file that
// cannot be executed, a helper installed off PATH, or none at all.
import assert from "node:assert/strict";
import { skippableTest } from "../_skip.ts";
import { findHelpers, INSTALL_HELPERS } from "../../lib/idmap/helpers.ts";
import { findOnPath, whyNotOnPath } from "../../lib/system/path_search.ts";
import { which } from "../../ffi/which.ts";
import type { DoctorCheck } from "../../lib/inspect/doctor.ts";
import { PRIVILEGED } from "./_env.ts";
import { cliAsUser, UNPRIVILEGED_REASON, USER_UID } from "./_user.ts";

/** A temp dir with `bin/` and `sbin/`, removed after `fn`. */
function withDirs(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "userns-path-" });
    Deno.mkdirSync(`${dir}/bin`);
    Deno.mkdirSync(`${dir}/sbin`);
    try {
      await fn(dir);
    } finally {
      Deno.chmodSync(`${dir}/bin`, 0o755);
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const program = (file: string, mode = 0o755) =>
  Deno.writeTextFileSync(file, "#!/bin/sh\n", { mode });

Deno.test(
  "whyNotOnPath(): not installed anywhere",
  withDirs((dir) => {
    assert.deepEqual(
      whyNotOnPath("newuidmap", `${dir}/bin`, INSTALL_HELPERS, [`${dir}/sbin`]),
      {
        what: "newuidmap not found on PATH",
        hint: "install the uidmap package (apt-get install uidmap)",
      },
    );
  }),
);

Deno.test(
  "whyNotOnPath(): installed off PATH",
  withDirs((dir) => {
    program(`${dir}/sbin/newuidmap`);
    assert.deepEqual(
      whyNotOnPath("newuidmap", `relative:${dir}/bin`, "x", [`${dir}/sbin`]),
      {
        what: `newuidmap is at ${dir}/sbin/newuidmap but not on PATH ` +
          `(PATH=relative:${dir}/bin)`,
        hint: `add ${dir}/sbin to PATH`,
      },
    );
  }),
);

Deno.test(
  "whyNotOnPath(): on PATH but not executable",
  withDirs((dir) => {
    program(`${dir}/bin/newuidmap`, 0o644);
    Deno.mkdirSync(`${dir}/sbin/newuidmap`);
    const path = `${dir}/bin:${dir}/sbin`;
    assert.equal(findOnPath("newuidmap", path), undefined);
    assert.deepEqual(whyNotOnPath("newuidmap", path, "x", []), {
      what: `newuidmap not found on PATH: ${dir}/bin/newuidmap is not ` +
        "executable (mode 0644)",
      hint: `reinstall it, or fix its mode (ls -l ${dir}/bin/newuidmap)`,
    });
    assert.equal(
      whyNotOnPath("newuidmap", `${dir}/sbin`, "x", []).what,
      `newuidmap not found on PATH: ${dir}/sbin/newuidmap is not a regular file`,
    );
  }),
);

Deno.test(
  "findHelpers(): the path of each helper found, the cause of each not",
  withDirs((dir) => {
    program(`${dir}/bin/newuidmap`);
    program(`${dir}/sbin/newgidmap`);
    assert.deepEqual(findHelpers(`${dir}/bin`), {
      newuidmap: `${dir}/bin/newuidmap`,
      missing: {
        newgidmap: whyNotOnPath("newgidmap", `${dir}/bin`, INSTALL_HELPERS),
      },
    });
    assert.deepEqual(findHelpers(`${dir}/bin:${dir}/sbin`), {
      newuidmap: `${dir}/bin/newuidmap`,
      newgidmap: `${dir}/sbin/newgidmap`,
    });
  }),
);

skippableTest(
  "doctor CLI: a PATH directory the user cannot search is named",
  { needs: UNPRIVILEGED_REASON },
  withDirs(async (dir) => {
    program(`${dir}/bin/newuidmap`);
    program(`${dir}/bin/newgidmap`);
    if (PRIVILEGED) {
      for (const p of [dir, `${dir}/bin`]) Deno.chownSync(p, USER_UID, null);
      Deno.chmodSync(dir, 0o755);
    }
    Deno.chmodSync(`${dir}/bin`, 0o000);
    const out = await cliAsUser(["doctor", "--json"], { PATH: `${dir}/bin` });
    assert.equal(out.code, 1, out.stderr);
    const checks = JSON.parse(out.stdout) as DoctorCheck[];
    assert.deepEqual(checks.find((c) => c.check === "newuidmap"), {
      check: "newuidmap",
      status: "fail",
      detail: `newuidmap not found on PATH: cannot search ${dir}/bin: EACCES`,
      hint:
        `make ${dir}/bin searchable (ls -ld ${dir}/bin; chmod a+x ${dir}/bin)`,
    });
  }),
);

Deno.test("which() finds what findOnPath() finds, natively", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/asdir/prog`, { recursive: true });
    Deno.mkdirSync(`${dir}/noexec`);
    Deno.writeTextFileSync(`${dir}/noexec/prog`, "");
    Deno.mkdirSync(`${dir}/exec`);
    Deno.writeTextFileSync(`${dir}/exec/prog`, "#!/bin/sh\n");
    Deno.chmodSync(`${dir}/exec/prog`, 0o755);
    const paths = [
      `${dir}/exec`,
      `:${dir}/asdir:relative:${dir}/noexec:${dir}/exec`,
      `${dir}/missing::${dir}/exec:/usr/bin`,
      `${dir}/noexec`,
      "",
    ];
    for (const path of paths) {
      assert.equal(which(path, "prog"), findOnPath("prog", path), path);
    }
    assert.equal(
      which("/usr/sbin:/usr/bin:/sbin:/bin", "sh"),
      findOnPath("sh", "/usr/sbin:/usr/bin:/sbin:/bin"),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
