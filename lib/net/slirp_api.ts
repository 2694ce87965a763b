/**
 * slirp4netns's API socket: one JSON request per connection, answered
 * once the client has shut its side down (slirp4netns(1), "API SOCKET").
 * Ports are published through it: slirp4netns takes none on its command
 * line.
 *
 * @module
 */
import type { Published } from "./options.ts";

/** slirp4netns's answer: `return` on success, `error.desc` otherwise. */
export interface SlirpAnswer {
  /** What it returned. */
  return?: Record<string, unknown>;
  /** What went wrong. */
  error?: { desc?: string };
}

/**
 * Sends one request and reads the answer.
 *
 * @param socket the API socket's path
 * @param request the request, e.g. `{ execute: "list_hostfwd" }`
 * @returns the answer
 * @throws what `Deno.connect` throws; SyntaxError for an answer that is not JSON
 */
export async function slirpRequest(
  socket: string,
  request: object,
): Promise<SlirpAnswer> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const body = new TextEncoder().encode(JSON.stringify(request));
    for (let at = 0; at < body.length;) {
      at += await conn.write(body.subarray(at));
    }
    await conn.closeWrite();
    const text = new TextDecoder();
    const buf = new Uint8Array(4096);
    let answer = "";
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      answer += text.decode(buf.subarray(0, n), { stream: true });
    }
    return JSON.parse(answer + text.decode());
  } finally {
    conn.close();
  }
}

/**
 * Forwards a host port to the namespace's address.
 *
 * @param socket the API socket's path
 * @param p the port
 * @returns undefined when forwarded, else slirp4netns's reason
 */
export async function addHostForward(
  socket: string,
  p: Published,
): Promise<string | undefined> {
  const answer = await slirpRequest(socket, {
    execute: "add_hostfwd",
    arguments: {
      proto: p.protocol,
      host_addr: p.hostIp,
      host_port: p.hostPort,
      guest_port: p.port,
    },
  });
  if (answer.return) return undefined;
  return answer.error?.desc ?? JSON.stringify(answer);
}
