// The seccomp filters compiled by lib/sandbox/seccomp.ts, installed by
// c/filter.c (through _seccomp_loader.c) inside a real user namespace.
import assert from "node:assert/strict";
import {
  clearSeccompCache,
  compileSeccompProfile,
  DENYLIST,
  DENYLIST_SOURCE,
  seccompFilter,
  type SeccompProfile,
  systemProfilePath,
} from "../../lib/sandbox/mod.ts";
import { allCaps } from "../../lib/sandbox/caps.ts";
import { UsernsError } from "../../lib/errors/errors.ts";
import {
  capArgs,
  filterArgs,
  filterTest,
  probed,
  run,
  statusOf,
  tools,
} from "./_filter_tools.ts";

const PODMAN = systemProfilePath();
const NO_PODMAN = PODMAN ? undefined : "podman's seccomp.json is not installed";

const denyMkdir = (errnoRet: number): SeccompProfile => ({
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [
    // A name libseccomp does not know is skipped, as podman skips it.
    {
      names: ["no_such_call", "mkdir", "mkdirat"],
      action: "SCMP_ACT_ERRNO",
      errnoRet,
    },
  ],
});

/** Runs the probe under the loader in `unshare -r` (inside root). */
async function probe(loaderArgs: string[], probes: string[]) {
  return await run([
    "unshare",
    "-r",
    tools.loader,
    "-n",
    ...loaderArgs,
    "--",
    tools.probe,
    ...probes,
  ]);
}

filterTest(
  "a profile denying mkdir with errnoRet 38 makes mkdir fail with ENOSYS",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = await probe(filterArgs(seccompFilter(denyMkdir(38), 0n)), [
        "mkdir",
        `${dir}/a`,
      ]);
      assert.equal(out.stdout, "mkdir ENOSYS\n", out.stderr);
      const file = `${dir}/profile.json`;
      await Deno.writeTextFile(file, JSON.stringify(denyMkdir(13)));
      const viaFile = await probe(filterArgs(seccompFilter({ path: file })), [
        "mkdir",
        `${dir}/b`,
      ]);
      assert.equal(viaFile.stdout, "mkdir EACCES\n", viaFile.stderr);
      // The same command without the filter creates it.
      const none = await probe(filterArgs(seccompFilter("none")), [
        "mkdir",
        `${dir}/c`,
      ]);
      assert.equal(none.stdout, "mkdir ok\n");
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
        ["c", "profile.json"],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

filterTest(
  "actions other than ERRNO: KILL_PROCESS and TRAP end with SIGSYS, LOG allows",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      for (
        const [action, signal, line] of [
          ["SCMP_ACT_KILL_PROCESS", "SIGSYS", ""],
          ["SCMP_ACT_TRAP", "SIGSYS", ""],
          ["SCMP_ACT_LOG", null, "mkdir ok\n"],
        ] as const
      ) {
        const f = seccompFilter({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mkdir"], action }],
        });
        const out = await run([
          tools.loader,
          "-n",
          ...filterArgs(f),
          "--",
          tools.probe,
          "mkdir",
          `${dir}/${action}`,
        ]);
        assert.equal(out.signal, signal, action);
        assert.equal(out.stdout, line, action);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

filterTest(
  "default: podman's profile and the denylist, Seccomp 2, keyrings and TIOCSTI refused",
  async () => {
    const f = seccompFilter("default", 0n)!;
    assert.deepEqual(f.sources, [PODMAN, DENYLIST_SOURCE]);
    const args = [...capArgs(0n), ...filterArgs(f)];
    const status = await run([
      "unshare",
      "-r",
      tools.loader,
      "-n",
      ...args,
      "--",
      "grep",
      "-E",
      "Cap|Seccomp|NoNewPrivs",
      "/proc/self/status",
    ]);
    assert.deepEqual(statusOf(status.stdout), {
      CapInh: "0000000000000000",
      CapPrm: "0000000000000000",
      CapEff: "0000000000000000",
      CapBnd: "0000000000000000",
      CapAmb: "0000000000000000",
      NoNewPrivs: "1",
      Seccomp: "2",
      Seccomp_filters: "2",
    });
    const probes = [
      "add_key",
      "keyctl",
      "request_key",
      "bpf",
      "userfaultfd",
      "io_uring",
      "tiocsti",
      "tiocsti_high",
      "tcgets",
    ];
    const out = await probe(args, probes);
    assert.deepEqual(probed(out.stdout), {
      add_key: "ENOSYS",
      keyctl: "ENOSYS",
      request_key: "ENOSYS",
      bpf: "ENOSYS",
      userfaultfd: "ENOSYS",
      io_uring: "ENOSYS",
      tiocsti: "EPERM",
      tiocsti_high: "EPERM", // a command with garbage in the high bits too
      tcgets: "ok",
    }, out.stderr);
    // Without the filter the keyring and the terminal answer (or fail otherwise).
    const bare = probed((await probe(capArgs(0n), probes)).stdout);
    assert.equal(bare.keyctl, "ok");
    assert.notEqual(bare.tiocsti, "EPERM");
  },
  NO_PODMAN,
);

filterTest(
  "the denylist alone refuses the same and allows the rest",
  async () => {
    const bpf = compileSeccompProfile(DENYLIST, 0n, DENYLIST_SOURCE);
    const f = {
      bytes: bpf,
      lengths: Uint32Array.of(bpf.length / 8),
      sources: [DENYLIST_SOURCE],
    };
    const dir = await Deno.makeTempDir();
    try {
      const out = await probe(filterArgs(f), [
        "add_key",
        "keyctl",
        "tiocsti",
        "tcgets",
        "mkdir",
        `${dir}/x`,
      ]);
      assert.deepEqual(probed(out.stdout), {
        add_key: "ENOSYS",
        keyctl: "ENOSYS",
        tiocsti: "EPERM",
        tcgets: "ok",
        mkdir: "ok",
      }, out.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

filterTest("the default filters cover the 32-bit ABIs (x86, x32) too", () => {
  const f = seccompFilter("default", 0n)!;
  // AUDIT_ARCH_* constants compared in the programs (BPF_JMP|BPF_JEQ|BPF_K).
  const archs = new Set<number>();
  const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length);
  for (let i = 0; i < f.bytes.length; i += 8) {
    if (v.getUint16(i, true) === 0x15) archs.add(v.getUint32(i + 4, true));
  }
  for (const arch of [0xc000003e, 0x40000003]) {
    assert.ok(archs.has(arch), arch.toString(16));
  }
}, Deno.build.arch === "x86_64" ? undefined : "not x86_64");

filterTest(
  "podman's profile depends on the capabilities: cached apart, compiled once",
  () => {
    clearSeccompCache();
    const text = Deno.readTextFileSync(PODMAN!);
    const none = compileSeccompProfile(text, 0n, PODMAN);
    const all = compileSeccompProfile(text, allCaps(), PODMAN);
    assert.notDeepEqual(none, all);
    assert.equal(compileSeccompProfile(text, 0n, PODMAN), none); // the same object
    // An object is keyed by its JSON text: the same filter, cached in turn.
    const object = JSON.parse(text);
    const fromObject = compileSeccompProfile(object, 0n);
    assert.deepEqual(fromObject, none);
    assert.equal(
      compileSeccompProfile(structuredClone(object), 0n),
      fromObject,
    );
  },
  NO_PODMAN,
);

Deno.test("an architecture libseccomp does not know names the entry", () => {
  for (
    const [profile, message] of [
      [
        {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_FOO"],
        },
        'seccomp profile "p.json": architectures[1]: unknown architecture "SCMP_ARCH_FOO"',
      ],
      [
        {
          defaultAction: "SCMP_ACT_ALLOW",
          archMap: [{
            architecture: `SCMP_ARCH_${Deno.build.arch.toUpperCase()}`,
            subArchitectures: ["SCMP_ARCH_VAX"],
          }],
        },
        'seccomp profile "p.json": archMap[0].subArchitectures[0]: unknown architecture "SCMP_ARCH_VAX"',
      ],
    ] as const
  ) {
    assert.throws(
      () => compileSeccompProfile(JSON.stringify(profile), 0n, '"p.json"'),
      (e: unknown) =>
        e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
        e.message.startsWith(message),
    );
  }
});

Deno.test("a file that cannot be read or parsed is one line naming it", () => {
  assert.throws(
    () => seccompFilter({ path: "/nonexistent/p.json" }),
    (e: unknown) =>
      e instanceof UsernsError && e.code === "FILE_READ" &&
      e.message.startsWith(
        'seccomp profile "/nonexistent/p.json": cannot read it: NotFound',
      ),
  );
  const file = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(file, "{ not json");
    assert.throws(
      () => seccompFilter({ path: file }),
      (e: unknown) =>
        e instanceof UsernsError && e.code === "INVALID_ARGUMENT" &&
        e.message.startsWith(`seccomp profile "${file}": not JSON: `) &&
        !e.message.includes("\n"),
    );
  } finally {
    Deno.removeSync(file);
  }
});

filterTest(
  "without no_new_privs the filter goes first, while CAP_SYS_ADMIN is there",
  async () => {
    const keep = 0n;
    const args = [
      ...capArgs(keep),
      ...filterArgs(seccompFilter("default", keep)),
    ];
    const out = await run([
      "unshare",
      "-r",
      tools.loader,
      ...args,
      "--",
      "grep",
      "-E",
      "CapEff|Seccomp:|NoNewPrivs",
      "/proc/self/status",
    ]);
    assert.deepEqual(statusOf(out.stdout), {
      CapEff: "0000000000000000",
      NoNewPrivs: "0",
      Seccomp: "2",
    }, out.stderr);
    // With neither, the kernel refuses the filter: EACCES, first program.
    const refused = await run([
      tools.loader,
      "-u",
      "1000",
      "--",
      tools.loader,
      ...filterArgs(seccompFilter(denyMkdir(38))),
      "--",
      "true",
    ]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /step \d+ failed: errno 13, index 0/);
  },
);
