// userns doctor on the real machine, then with one thing taken away at a
// time through DoctorEnv; run as root and as nsuser.
import assert from "node:assert/strict";
import { type DoctorCheck, type Identity, runDoctor } from "../../lib/mod.ts";
import { findOnPath } from "../../lib/system/path_search.ts";
import { cli, nsTest } from "./_env.ts";

const NAMES = [
  "user namespaces",
  "newuidmap",
  "newgidmap",
  "subordinate ids",
  "no_new_privs",
  "primary group",
  "apparmor",
  "live namespace",
  "pasta",
  "slirp4netns",
  "setpriv",
  "/dev/net/tun",
];
const NSUSER: Identity = {
  uid: 1001,
  gid: 1001,
  name: "nsuser",
  passwdGid: 1001,
};
const ROOT_ID: Identity = { uid: 0, gid: 0, name: "root", passwdGid: 0 };
const PATH = Deno.env.get("PATH") ?? "";
/** Where newuidmap is installed (apt-get install uidmap). */
const INSTALLED = findOnPath("newuidmap", PATH) ?? "/usr/bin/newuidmap";

function pick(checks: DoctorCheck[], name: string): DoctorCheck {
  const c = checks.find((x) => x.check === name);
  assert.ok(c, `no "${name}" check in ${JSON.stringify(checks)}`);
  return c;
}

/** A temp dir holding `files` (relative path -> content). */
function tree(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "userns-doctor-" });
  for (const [rel, text] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  return dir;
}

function assertFails(c: DoctorCheck, hint: string): void {
  assert.equal(c.status, "fail", JSON.stringify(c));
  assert.ok(c.hint.includes(hint), `hint lacks ${hint}: ${JSON.stringify(c)}`);
}

nsTest("doctor: this machine passes every check", async () => {
  const checks = await runDoctor();
  assert.deepEqual(checks.map((c) => c.check), NAMES);
  for (const c of checks) {
    assert.notEqual(c.status, "fail", JSON.stringify(c));
    assert.equal(c.hint === "", c.status === "ok", JSON.stringify(c));
  }
  assert.match(pick(checks, "live namespace").detail, /printed 0 with uid map/);
});

nsTest(
  "doctor CLI: one line per check, exit 0; --json has the README's shape",
  async () => {
    const out = await cli(["doctor"]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const lines = out.stdout.trimEnd().split("\n").filter((l) =>
      !l.startsWith("      hint: ")
    );
    assert.deepEqual(
      lines.map((l) => /^(ok {2}|warn|fail) ([^:]+): \S/.exec(l)?.[2]),
      NAMES,
    );
    const json = await cli(["doctor", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const checks = JSON.parse(json.stdout) as DoctorCheck[];
    assert.deepEqual(checks.map((c) => c.check), NAMES);
    for (const c of checks) {
      assert.deepEqual(Object.keys(c).sort(), [
        "check",
        "detail",
        "hint",
        "status",
      ]);
      assert.ok(["ok", "warn", "fail"].includes(c.status), c.status);
    }
  },
);

nsTest(
  "doctor CLI: PATH without the helpers or id exits 1 with hints",
  async () => {
    const out = await cli(["doctor"], { env: { PATH: "/nonexistent" } });
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(out.stdout, /^fail live namespace: .+\n {6}hint: \S/m);
    if (Deno.uid() !== 0) {
      // Deno may put a directory of its own before PATH in a child's.
      const dir = INSTALLED.slice(0, INSTALLED.lastIndexOf("/"));
      const line = new RegExp(
        `^fail newuidmap: newuidmap is at ${INSTALLED} but not on PATH ` +
          `\\(PATH=(?:[^:)]*:)?/nonexistent\\)\\n {6}hint: add ${dir} to PATH$`,
        "m",
      );
      assert.match(out.stdout, line);
    }
  },
);

Deno.test("doctor CLI: an operand is a usage error", async () => {
  const out = await cli(["doctor", "extra"]);
  assert.equal(out.code, 2);
  assert.match(
    out.stderr,
    /^userns: doctor: unexpected argument "extra"; see userns doctor --help\n$/,
  );
});

Deno.test("doctor: no subordinate range fails with the usermod hint", async () => {
  // A /proc without processes: live namespaces would move the suggestion.
  const dir = tree({
    empty: "",
    other: "other:100000:65536\n",
    "proc/.keep": "",
  });
  try {
    const none = {
      subuid: `${dir}/empty`,
      subgid: `${dir}/other`,
      proc: `${dir}/proc`,
    };
    const c = pick(
      await runDoctor({ ...none, identity: NSUSER }),
      "subordinate ids",
    );
    // The suggested block avoids the one "other" holds.
    assert.equal(
      c.hint,
      "an admin can delegate a free range: usermod --add-subuids " +
        "165536-231071 --add-subgids 165536-231071 nsuser",
    );
    assert.equal(c.status, "fail");
    const root = pick(
      await runDoctor({ ...none, identity: ROOT_ID }),
      "subordinate ids",
    );
    assert.equal(root.status, "ok");
    assert.match(root.detail, /root maps the whole id space/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("doctor: delegated ranges are ok and listed", async () => {
  const dir = tree({ ids: "nsuser:200000:65536\n1001:400000:10\n" });
  try {
    const env = {
      subuid: `${dir}/ids`,
      subgid: `${dir}/ids`,
      identity: NSUSER,
    };
    const c = pick(await runDoctor(env), "subordinate ids");
    assert.equal(c.status, "ok", JSON.stringify(c));
    assert.match(c.detail, /^uids 200000-265535, 400000-400009 in /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("doctor: a helper without its setuid bit fails with chmod/setcap", async () => {
  const real = findOnPath("newuidmap", PATH);
  assert.ok(real, "newuidmap is not installed (apt-get install uidmap)");
  const dir = Deno.makeTempDirSync({ prefix: "userns-doctor-" });
  try {
    const copy = `${dir}/newuidmap`;
    Deno.copyFileSync(real, copy);
    Deno.chmodSync(copy, 0o755);
    const path = `${dir}:${PATH}`;
    const checks = await runDoctor({ path, identity: NSUSER });
    assertFails(pick(checks, "newuidmap"), `chmod u+s ${copy}`);
    assert.match(
      pick(checks, "newuidmap").hint,
      new RegExp(`setcap cap_setuid\\+ep ${copy}$`),
    );
    assert.equal(pick(checks, "newgidmap").status, "ok");
    const root = pick(
      await runDoctor({ path, identity: ROOT_ID }),
      "newuidmap",
    );
    assert.equal(root.status, "ok");
    assert.match(root.detail, /not needed as root/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("doctor: helpers off PATH fail with where they are", async () => {
  const checks = await runDoctor({ path: "/nonexistent", identity: NSUSER });
  const dir = INSTALLED.slice(0, INSTALLED.lastIndexOf("/"));
  for (const name of ["newuidmap", "newgidmap"]) {
    const c = pick(checks, name);
    assert.deepEqual(c, {
      check: name,
      status: "fail",
      detail:
        `${name} is at ${dir}/${name} but not on PATH (PATH=/nonexistent)`,
      hint: `add ${dir} to PATH`,
    });
  }
  const root = await runDoctor({ path: "/nonexistent", identity: ROOT_ID });
  assert.equal(pick(root, "newuidmap").status, "ok");
});

Deno.test("doctor: kernel settings that refuse namespaces fail with the fix", async () => {
  const dir = tree({
    "sys/user/max_user_namespaces": "0\n",
    "sys/kernel/unprivileged_userns_clone": "0\n",
    "sys/kernel/apparmor_restrict_unprivileged_userns": "1\n",
    "self/status": "Name:\tdeno\nNoNewPrivs:\t1\n",
    "self/attr/apparmor/current": "unconfined\n",
  });
  try {
    const checks = await runDoctor({ proc: dir, identity: NSUSER });
    const userns = pick(checks, "user namespaces");
    assertFails(userns, "sysctl -w user.max_user_namespaces=15000");
    assertFails(userns, "sysctl -w kernel.unprivileged_userns_clone=1");
    assertFails(pick(checks, "no_new_privs"), "NoNewPrivileges=");
    const aa = pick(checks, "apparmor");
    assertFails(
      aa,
      `profile userns ${Deno.execPath()} flags=(unconfined) { userns, }`,
    );
    assertFails(aa, "apparmor_parser -r /etc/apparmor.d/userns");
    const root = await runDoctor({ proc: dir, identity: ROOT_ID });
    assert.equal(pick(root, "no_new_privs").status, "ok");
    assert.equal(pick(root, "apparmor").status, "ok");
    assertFails(pick(root, "user namespaces"), "max_user_namespaces=15000");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("doctor: a gid other than the passwd primary group fails", async () => {
  const moved = await runDoctor({ identity: { ...NSUSER, gid: 1002 } });
  assertFails(pick(moved, "primary group"), "newgrp");
  const none = await runDoctor({ identity: { uid: 4242, gid: 4242 } });
  assertFails(pick(none, "primary group"), "useradd");
  assert.match(
    pick(none, "primary group").detail,
    /no passwd entry for uid 4242/,
  );
});
