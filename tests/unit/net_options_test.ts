import assert from "node:assert/strict";
import { isUsernsError } from "../../lib/errors/errors.ts";
import {
  checkNetworkOptions,
  formatPublish,
  isIpAddress,
  type NetworkOptions,
  parsePublish,
} from "../../lib/net/options.ts";

Deno.test("parsePublish() reads [IP:]HOSTPORT:PORT[/tcp|/udp], 127.0.0.1 by default", async (t) => {
  const cases: [string, ReturnType<typeof parsePublish>][] = [
    ["8080:80", {
      hostIp: "127.0.0.1",
      hostPort: 8080,
      port: 80,
      protocol: "tcp",
    }],
    ["8080:80/udp", {
      hostIp: "127.0.0.1",
      hostPort: 8080,
      port: 80,
      protocol: "udp",
    }],
    ["0.0.0.0:8080:80", {
      hostIp: "0.0.0.0",
      hostPort: 8080,
      port: 80,
      protocol: "tcp",
    }],
    ["192.0.2.7:1:65535/tcp", {
      hostIp: "192.0.2.7",
      hostPort: 1,
      port: 65535,
      protocol: "tcp",
    }],
    ["[::1]:8080:80", {
      hostIp: "::1",
      hostPort: 8080,
      port: 80,
      protocol: "tcp",
    }],
    ["[fd00::2]:53:53/udp", {
      hostIp: "fd00::2",
      hostPort: 53,
      port: 53,
      protocol: "udp",
    }],
  ];
  for (const [spec, want] of cases) {
    await t.step(spec, () => {
      assert.deepEqual(parsePublish(spec), want);
      assert.deepEqual(parsePublish(formatPublish(want)), want); // round trip
    });
  }
});

Deno.test("parsePublish() refuses a bad spec in one line naming -p", async (t) => {
  const cases: [string, RegExp][] = [
    ["80", /^-p "80": expected HOSTPORT:PORT; write -p \[IP:\]HOSTPORT:PORT/],
    ["8080:0", /^-p "8080:0": port "0" is not a port \(1-65535\)/],
    ["65536:80", /host port "65536" is not a port/],
    ["http:80", /host port "http" is not a port/],
    ["8080:80/sctp", /protocol "sctp" is not tcp or udp/],
    [
      "1.2.3:8080:80",
      /"1\.2\.3" is not an IPv4 address \(write an IPv6 one in brackets\)/,
    ],
    ["300.1.1.1:8080:80", /"300\.1\.1\.1" is not an IPv4 address/],
    [
      "[::1:8080:80",
      /an IPv6 address in brackets must be followed by :HOSTPORT:PORT/,
    ],
    ["[1.2.3.4]:8080:80", /"1\.2\.3\.4" is not an IPv6 address/],
    ["::1:8080:80", /expected HOSTPORT:PORT/],
    ["8080:80:90:100", /expected HOSTPORT:PORT/],
  ];
  for (const [spec, want] of cases) {
    await t.step(spec, () => {
      assert.throws(() => parsePublish(spec), (e: Error) => {
        assert.ok(isUsernsError(e));
        assert.equal((e as { code?: string }).code, "INVALID_ARGUMENT");
        assert.match(e.message, want);
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    });
  }
});

Deno.test("isIpAddress() tells addresses from other text", () => {
  for (
    const ip of [
      "127.0.0.1",
      "0.0.0.0",
      "255.255.255.255",
      "::",
      "::1",
      "fd00::2",
      "::ffff:1.2.3.4",
    ]
  ) {
    assert.ok(isIpAddress(ip), ip);
  }
  for (
    const ip of [
      "",
      "localhost",
      "1.2.3",
      "01.2.3.4",
      "256.1.1.1",
      ":::",
      "[::1]",
      "1.2.3.4 ",
    ]
  ) {
    assert.ok(!isIpAddress(ip), ip);
  }
});

Deno.test("checkNetworkOptions() fills defaults and refuses what cannot work", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(checkNetworkOptions({}), []);
    assert.deepEqual(
      checkNetworkOptions({
        network: "pasta",
        publish: [{ hostPort: 8080, port: 80 }],
      }),
      [{ hostPort: 8080, port: 80, hostIp: "127.0.0.1", protocol: "tcp" }],
    );
  });
  const bad: [string, NetworkOptions, ErrorConstructor, RegExp][] = [
    [
      "unknown network",
      { network: "slirp" as never },
      TypeError,
      /^network must be one of host, none, pasta, slirp4netns, not "slirp"/,
    ],
    [
      "publish not an array",
      { network: "pasta", publish: {} as never },
      TypeError,
      /publish must be an array/,
    ],
    [
      "port 0",
      { network: "pasta", publish: [{ hostPort: 0, port: 80 }] },
      RangeError,
      /publish\[0\]\.hostPort must be an integer from 1 to 65535, not 0/,
    ],
    [
      "port fraction",
      { network: "pasta", publish: [{ hostPort: 80, port: 1.5 }] },
      RangeError,
      /publish\[0\]\.port must be an integer/,
    ],
    [
      "bad hostIp",
      {
        network: "pasta",
        publish: [{ hostPort: 80, port: 80, hostIp: "localhost" }],
      },
      TypeError,
      /publish\[0\]\.hostIp must be an IPv4 or IPv6 address, not "localhost"/,
    ],
    [
      "bad protocol",
      {
        network: "pasta",
        publish: [{ hostPort: 80, port: 80, protocol: "sctp" as never }],
      },
      TypeError,
      /protocol must be "tcp" or "udp"/,
    ],
    [
      "publish without a helper",
      { network: "none", publish: [{ hostPort: 8080, port: 80 }] },
      TypeError,
      /^publish needs network "pasta" or "slirp4netns", not "none"/,
    ],
    [
      "publish on the host's network",
      { publish: [{ hostPort: 8080, port: 80 }] },
      TypeError,
      /not "host"/,
    ],
    [
      "loopback without a helper",
      { network: "host", allowHostLoopback: true },
      TypeError,
      /^allowHostLoopback needs network/,
    ],
    [
      "loopback not a boolean",
      { network: "pasta", allowHostLoopback: "yes" as never },
      TypeError,
      /allowHostLoopback must be a boolean/,
    ],
    [
      "timeout",
      { network: "pasta", helperTimeout: 0 },
      RangeError,
      /helperTimeout must be a positive integer/,
    ],
    [
      "twice",
      {
        network: "pasta",
        publish: [{ hostPort: 8080, port: 80 }, {
          hostPort: 8080,
          port: 81,
          hostIp: "127.0.0.1",
        }],
      },
      TypeError,
      /host port 127\.0\.0\.1:8080\/tcp is published twice/,
    ],
  ];
  for (const [name, o, cls, want] of bad) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => checkNetworkOptions(o),
          (e: Error) => e instanceof cls && want.test(e.message),
        ),
    );
  }
  await t.step("the same port for tcp and udp, or on two addresses", () => {
    assert.equal(
      checkNetworkOptions({
        network: "slirp4netns",
        publish: [
          { hostPort: 53, port: 53 },
          { hostPort: 53, port: 53, protocol: "udp" },
          { hostPort: 53, port: 53, hostIp: "0.0.0.0" },
        ],
      }).length,
      3,
    );
  });
});
