/**
 * `--tty` (library: `tty: true`): the command runs on a new pseudo-terminal
 * that userns relays to its own stdin and stdout, as `podman run -t` and
 * `podman exec -t` do. The command gets job control and a terminal of its
 * own, and never holds the caller's: it can neither push input into the
 * caller's shell (TIOCSTI) nor read what the caller types elsewhere.
 *
 * The caller's terminal is put in raw mode while the command runs, so that
 * every key reaches the command's terminal, whose line discipline then
 * makes ^C a SIGINT of the command. Its window size follows the caller's
 * (SIGWINCH).
 *
 * @module
 */
import { Event } from "../../ffi/abi.ts";
import { Errno } from "../errors/errno.ts";
import { closeFd, readNow, reopen, writeNow } from "../../ffi/fd.ts";
import { copyTtySize, openPty } from "../../ffi/pty.ts";
import { getReactor } from "../../ffi/reactor.ts";

/** Waits for one readiness event of `fd`. */
function ready(
  fd: number,
  kind: typeof Event.READ | typeof Event.WRITE,
): Promise<void> {
  return new Promise((resolve) => {
    if (getReactor().arm(fd, kind, () => resolve()) !== 0) resolve();
  });
}

/** A pseudo-terminal and the relay between it and the caller's stdio. */
export class TtyRelay {
  /** The slave, the command's fds 0-2: close it once the child exists. */
  slave: number;
  readonly #master: number;
  #input = -1;
  #raw = false;
  #stopped = false;
  readonly #stop = Promise.withResolvers<void>();
  #output: Promise<void> = Promise.resolve();
  readonly #resize = () => this.#size();

  /** Opens the pseudo-terminal; {@link start} relays it. */
  constructor() {
    const pty = openPty();
    this.#master = pty.master;
    this.slave = pty.slave;
  }

  /**
   * Once the child holds the slave: closes ours, makes the caller's
   * terminal raw, and relays both ways until {@link finish}.
   */
  start(): void {
    closeFd(this.slave);
    this.slave = -1;
    this.#size();
    try {
      if (Deno.stdin.isTerminal()) {
        Deno.stdin.setRaw(true);
        this.#raw = true;
      }
      Deno.addSignalListener("SIGWINCH", this.#resize);
    } catch {
      // not permitted, or no terminal: relay without
    }
    // A description of its own: the shell's stays blocking.
    const input = reopen(0, false);
    if (input >= 0) {
      this.#input = input;
      this.#pumpIn(input).catch(() => {});
    }
    this.#output = this.#pumpOut();
  }

  /**
   * After the command ended: relays what it wrote last, then gives the
   * caller's terminal back as it was.
   */
  async finish(): Promise<void> {
    this.#stopped = true;
    this.#stop.resolve();
    if (this.#input >= 0) {
      getReactor().off(this.#input);
      closeFd(this.#input);
      this.#input = -1;
    }
    await this.#output.catch(() => {});
    this.close();
  }

  /** Closes everything (a spawn that failed, or after {@link finish}). */
  close(): void {
    if (this.slave >= 0) closeFd(this.slave), (this.slave = -1);
    getReactor().off(this.#master);
    closeFd(this.#master);
    try {
      Deno.removeSignalListener("SIGWINCH", this.#resize);
      if (this.#raw) Deno.stdin.setRaw(false);
    } catch {
      // never added, or not permitted
    }
    this.#raw = false;
  }

  #size(): void {
    if (copyTtySize(0, this.#master) !== 0) copyTtySize(1, this.#master);
  }

  /** The caller's input into the terminal, until it ends or we stop. */
  async #pumpIn(fd: number): Promise<void> {
    const buf = new Uint8Array(4096);
    while (!this.#stopped) {
      const n = readNow(fd, buf);
      if (n === -Errno.EAGAIN) {
        await ready(fd, Event.READ);
        continue;
      }
      if (n <= 0) return; // EOF or an error: no more input
      for (let at = 0; at < n && !this.#stopped;) {
        const w = writeNow(this.#master, buf.subarray(at, n));
        if (w === -Errno.EAGAIN) await ready(this.#master, Event.WRITE);
        else if (w < 0) return;
        else at += w;
      }
    }
  }

  /** The terminal's output to the caller's stdout; once the command ended,
   * only what is there (a process it left may hold the terminal open). */
  async #pumpOut(): Promise<void> {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = readNow(this.#master, buf);
      if (n === -Errno.EAGAIN) {
        if (this.#stopped) return;
        await Promise.race([
          ready(this.#master, Event.READ),
          this.#stop.promise,
        ]);
        continue;
      }
      // EIO: every holder of the slave closed it.
      if (n <= 0) return;
      for (let at = 0; at < n;) {
        at += Deno.stdout.writeSync(buf.subarray(at, n));
      }
    }
  }
}
