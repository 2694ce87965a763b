/**
 * SHA-256 with node:crypto, loaded on first use: importing it at start-up
 * costs the CLI about 20 ms, and a checkout with build/ never hashes
 * anything.
 *
 * @module
 */

interface Hash {
  update(data: string | Uint8Array): Hash;
  digest(encoding: "hex"): string;
}

/**
 * The SHA-256 of the parts, one after the other.
 *
 * @param parts text (as UTF-8) and bytes
 * @returns 64 lower-case hex digits
 */
export function sha256(...parts: (string | Uint8Array)[]): string {
  const { process } = globalThis as unknown as {
    process: {
      getBuiltinModule(id: "node:crypto"): { createHash(a: string): Hash };
    };
  };
  const h = process.getBuiltinModule("node:crypto").createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}
