import assert from "node:assert/strict";
import { isUsernsError } from "../../lib/errors/errors.ts";
import {
  helperFailure,
  helperLines,
  NetworkError,
} from "../../lib/net/errors.ts";
import type { NetworkOptions } from "../../lib/net/options.ts";
import {
  commandLine,
  type Lookup,
  type NetworkPlan,
  pastaArgs,
  planNetwork,
  resolvConf,
  slirpArgs,
} from "../../lib/net/plan.ts";

/** A PATH with exactly these programs, in /usr/bin. */
const installed = (...names: string[]): Lookup => (name) =>
  names.includes(name) ? `/usr/bin/${name}` : undefined;
const ALL = installed("pasta", "slirp4netns", "setpriv");

function plan(o: NetworkOptions, lookup: Lookup = ALL): NetworkPlan {
  const p = planNetwork(o, lookup);
  assert.ok(p);
  return p;
}

/** The value that follows each occurrence of `flag`. */
const after = (args: string[], flag: string) =>
  args.flatMap((a, i) => a === flag ? [args[i + 1]] : []);

Deno.test("planNetwork() runs nothing for host and none", () => {
  assert.equal(planNetwork({}, ALL), undefined);
  assert.equal(planNetwork({ network: "host" }, ALL), undefined);
  assert.equal(planNetwork({ network: "none" }, ALL), undefined);
});

Deno.test("planNetwork() takes pasta first, slirp4netns as the fallback or when asked", async (t) => {
  await t.step("pasta", () => {
    const p = plan({ network: "pasta" });
    assert.equal(p.helper, "pasta");
    assert.equal(p.path, "/usr/bin/pasta");
    assert.equal(p.setpriv, "/usr/bin/setpriv");
    assert.equal(p.nameserver, "169.254.0.1");
    assert.equal(p.timeout, 10_000);
    assert.deepEqual(p.warnings, []);
  });
  await t.step("slirp4netns when asked, though pasta is there", () => {
    const p = plan({ network: "slirp4netns", helperTimeout: 500 });
    assert.equal(p.helper, "slirp4netns");
    assert.equal(p.nameserver, "10.0.2.3");
    assert.equal(p.timeout, 500);
  });
  await t.step("slirp4netns when pasta is missing, with a warning", () => {
    const p = plan({ network: "pasta" }, installed("slirp4netns", "setpriv"));
    assert.equal(p.helper, "slirp4netns");
    assert.deepEqual(p.warnings, [
      "pasta not found on PATH (install passt (apt-get install passt)): using slirp4netns",
    ]);
  });
  await t.step("a warning when setpriv is missing for pasta", () => {
    const p = plan({ network: "pasta" }, installed("pasta"));
    assert.equal(p.setpriv, undefined);
    assert.match(
      p.warnings.join(),
      /setpriv not found .*pasta will outlive userns if userns is killed/,
    );
  });
});

Deno.test("planNetwork() says which helper to install, in one line", async (t) => {
  const cases: [string, NetworkOptions, Lookup, RegExp][] = [
    [
      "neither",
      { network: "pasta" },
      installed(),
      /^neither pasta nor slirp4netns found on PATH; install passt \(apt-get install passt\) or slirp4netns$/,
    ],
    [
      "slirp4netns asked",
      { network: "slirp4netns", path: "" },
      installed("pasta"),
      /^slirp4netns (not found on PATH; install slirp4netns \(apt-get install slirp4netns\)|is at \S+ but not on PATH \(PATH=\); add \S+ to PATH), or use --network pasta$/,
    ],
  ];
  for (const [name, o, lookup, want] of cases) {
    await t.step(name, () => {
      assert.throws(() => planNetwork(o, lookup), (e: Error) => {
        assert.ok(e instanceof NetworkError && isUsernsError(e));
        assert.equal(e.code, "HELPER_MISSING");
        assert.equal(e.reason, "missing");
        assert.match(e.message, want);
        return true;
      });
    });
  }
});

Deno.test("planNetwork() refuses an IPv6 port for slirp4netns, which forwards IPv4 only", () => {
  assert.throws(
    () =>
      planNetwork({
        network: "slirp4netns",
        publish: [{ hostPort: 8080, port: 80, hostIp: "::1" }],
      }, ALL),
    /-p \[::1\]:8080:80\/tcp: slirp4netns forwards IPv4 addresses only; publish on an IPv4 address, or use --network pasta$/,
  );
});

Deno.test("pastaArgs() closes the host's loopback unless asked, and forwards only what is published", async (t) => {
  await t.step("defaults", () => {
    const args = pastaArgs(plan({ network: "pasta" }), { pid: 4242 }, false);
    assert.deepEqual(after(args, "-t"), ["none"]);
    assert.deepEqual(after(args, "-u"), ["none"]);
    // Its default -T auto would forward every host port to the namespace's 127.0.0.1.
    assert.deepEqual(after(args, "-T"), ["none"]);
    assert.deepEqual(after(args, "-U"), ["none"]);
    assert.ok(args.includes("--no-map-gw"));
    assert.deepEqual(after(args, "--dns-forward"), ["169.254.0.1"]);
    assert.deepEqual(after(args, "--pid"), ["/proc/self/fd/3"]);
    assert.ok(
      args.includes("--config-net") && args.includes("--quiet") &&
        args.includes("--foreground"),
    );
    assert.ok(!args.includes("--runas"));
    assert.equal(args.at(-1), "4242");
  });
  await t.step("allowHostLoopback maps the gateway, and only that", () => {
    const args = pastaArgs(
      plan({ network: "pasta", allowHostLoopback: true }),
      { pid: 1 },
      false,
    );
    assert.ok(!args.includes("--no-map-gw"));
    assert.deepEqual(after(args, "-T"), ["none"]);
  });
  await t.step("published ports", () => {
    const p = plan({
      network: "pasta",
      publish: [
        { hostPort: 8080, port: 80 },
        { hostPort: 8443, port: 443, hostIp: "0.0.0.0" },
        { hostPort: 5353, port: 53, protocol: "udp", hostIp: "::1" },
      ],
    });
    const args = pastaArgs(p, { pid: 1 }, false);
    assert.deepEqual(after(args, "-t"), [
      "127.0.0.1/8080:80",
      "0.0.0.0/8443:443",
    ]);
    assert.deepEqual(after(args, "-u"), ["::1/5353:53"]);
  });
  await t.step("as root: no switch to nobody", () => {
    assert.deepEqual(
      after(pastaArgs(plan({ network: "pasta" }), { pid: 1 }, true), "--runas"),
      ["0:0"],
    );
  });
  await t.step("a pod's: in the background, by path", () => {
    const args = pastaArgs(plan({ network: "pasta" }), {
      userns: "/proc/7/ns/user",
      netns: "/run/p.netns",
    }, false);
    assert.ok(!args.includes("--foreground"));
    assert.deepEqual(after(args, "--userns"), ["/proc/7/ns/user"]);
    assert.deepEqual(after(args, "--netns"), ["/run/p.netns"]);
    assert.ok(!args.includes("7"));
  });
});

Deno.test("slirpArgs() closes the host's loopback unless asked; attached, it exits on EOF of fd 0", () => {
  const args = slirpArgs(
    plan({ network: "slirp4netns" }),
    4242,
    "/tmp/x/api.sock",
    true,
  );
  assert.ok(args.includes("--disable-host-loopback"));
  assert.ok(args.includes("--exit-fd=0"));
  assert.ok(args.includes("--ready-fd=3"));
  assert.ok(args.includes("--configure") && args.includes("--mtu=65520"));
  assert.deepEqual(after(args, "--api-socket"), ["/tmp/x/api.sock"]);
  assert.deepEqual(args.slice(-2), ["4242", "tap0"]);
  const open = slirpArgs(
    plan({ network: "slirp4netns", allowHostLoopback: true }),
    1,
    "/s",
    false,
  );
  assert.ok(!open.includes("--disable-host-loopback"));
  assert.ok(!open.some((a) => a.startsWith("--exit-fd")));
});

Deno.test("commandLine() gives the helper a parent-death signal and its ready fd", () => {
  const p = plan({ network: "pasta" });
  const tied = commandLine(p, ["-q"], true);
  assert.deepEqual(tied.slice(0, 4), [
    "/usr/bin/setpriv",
    "--pdeathsig",
    "KILL",
    "--",
  ]);
  assert.deepEqual(tied.slice(4), [
    "/bin/sh",
    "-c",
    'exec "$0" "$@" 3>&1 1>&2',
    "/usr/bin/pasta",
    "-q",
  ]);
  assert.deepEqual(commandLine(p, ["-q"], false), tied.slice(4));
  const bare = commandLine(
    plan({ network: "pasta" }, installed("pasta")),
    [],
    true,
  );
  assert.equal(bare[0], "/bin/sh");
});

Deno.test("resolvConf() names the helper's resolver and keeps the host's search and options", () => {
  assert.equal(resolvConf("169.254.0.1"), "nameserver 169.254.0.1\n");
  const host =
    "# comment\nnameserver 10.255.255.53\nsearch example.com corp\noptions edns0 ndots:2\ndomain x\n";
  assert.equal(
    resolvConf("10.0.2.3", host),
    "nameserver 10.0.2.3\nsearch example.com corp\noptions edns0 ndots:2\ndomain x\n",
  );
});

Deno.test("helperFailure() tells the fix from what the helper said", async (t) => {
  const p = plan({
    network: "pasta",
    publish: [{ hostPort: 8080, port: 80 }, {
      hostPort: 53,
      port: 53,
      protocol: "udp",
    }],
  });
  const fail = { code: 1, signal: null };
  await t.step("a port", () => {
    const e = helperFailure(
      "pasta",
      p.publish,
      fail,
      "Failed to bind any port for '-t 127.0.0.1/8080:80', exiting\n",
      9,
    );
    assert.deepEqual(e, {
      port: p.publish[0],
      line: "Failed to bind any port for '-t 127.0.0.1/8080:80', exiting",
    });
    const u = helperFailure(
      "pasta",
      p.publish,
      fail,
      "Failed to bind any port for '-u 127.0.0.1/53:53', exiting",
      9,
    );
    assert.deepEqual(u, {
      port: p.publish[1],
      line: "Failed to bind any port for '-u 127.0.0.1/53:53', exiting",
    });
  });
  await t.step("/dev/net/tun", () => {
    const e = helperFailure(
      "pasta",
      [],
      fail,
      "Failed to send 47 bytes to syslog\nFailed to open tun socket in namespace\n",
      9,
    );
    assert.ok(e instanceof NetworkError);
    assert.equal(e.reason, "tun");
    assert.equal(
      e.message,
      'pasta cannot use /dev/net/tun in the namespace: "Failed to open tun socket in namespace"; as root: chmod 666 /dev/net/tun (the mode distributions ship)',
    );
  });
  await t.step("the namespace", () => {
    const e = helperFailure(
      "pasta",
      [],
      fail,
      "Couldn't open user namespace /proc/9/ns/user: Permission denied",
      9,
    );
    assert.ok(e instanceof NetworkError);
    assert.equal(e.reason, "namespace");
    assert.match(
      e.message,
      /^pasta cannot enter the namespaces of process 9: "Couldn't open user namespace/,
    );
  });
  await t.step("anything else", () => {
    const e = helperFailure(
      "slirp4netns",
      [],
      { code: 0, signal: "SIGSEGV" },
      "",
      9,
    );
    assert.ok(e instanceof NetworkError);
    assert.equal(e.reason, "failed");
    assert.match(
      e.message,
      /^slirp4netns was killed by SIGSEGV; see slirp4netns\(1\)/,
    );
  });
  await t.step("syslog noise is dropped", () => {
    assert.deepEqual(
      helperLines("Failed to send 12 bytes to syslog\n\n  x  \n"),
      ["x"],
    );
  });
});
