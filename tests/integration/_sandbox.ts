// A private place for podman and buildah, used as the test user (see
// _rootless.ts): storage, run, config and temp dirs all in one temp dir, so
// that test runs share no image, container or podman pause process with each
// other or with the user's own, and all of it goes at the end.
import { PRIVILEGED, ROOT, text } from "./_env.ts";
import { alive, delay } from "./_process.ts";
import { containerReason } from "./_image.ts";
import { type Output, runAs, testUser, type User } from "./_user.ts";

/**
 * The longest runroot podman 4.3 accepts as a flag. `podman run` passes its
 * runroot to the exit command conmon runs (`podman --runroot DIR container
 * cleanup`), which fails with "the specified runroot is longer than 50
 * characters"; the container's state then never becomes "exited" and every
 * `podman run --rm` waits out a 20 s timeout.
 */
const RUNROOT_MAX = 50;

/**
 * One test file's private container storage, owned by the test user.
 * Create it with {@link Sandbox.create}; always {@link Sandbox.close} it.
 */
export class Sandbox {
  #closed = false;

  private constructor(
    /** The temp dir holding everything; the user owns it. */
    readonly dir: string,
    /** The user that runs the commands. */
    readonly user: User,
    /** The `main.ts` that user runs (a copy of the tree when root). */
    readonly main: string,
    /** The whole environment of every command. */
    readonly env: Record<string, string>,
  ) {}

  /**
   * Makes the temp dir with its storage.conf, and, as root, a copy of the
   * tree the test user can read (the checkout may be under /root).
   *
   * @returns the sandbox
   * @throws {Error} when {@link containerReason} says it cannot work
   */
  static async create(): Promise<Sandbox> {
    if (containerReason || !testUser) throw new Error(containerReason);
    const user = testUser;
    // In /tmp, whatever TMPDIR says: the test user must reach it, and
    // podman refuses a runroot over 50 characters (see RUNROOT_MAX).
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "uns-ctr-" });
    if (`${dir}/run/containers`.length > RUNROOT_MAX) {
      throw new Error(`${dir}/run/containers: longer than ${RUNROOT_MAX}`);
    }
    for (
      const sub of [
        "run",
        "config",
        "config/containers",
        "data",
        "tmp",
        "share",
      ]
    ) {
      await Deno.mkdir(`${dir}/${sub}`, { mode: 0o700 });
    }
    // Rootless podman takes graphroot and runroot from the user's own
    // storage.conf only (not from CONTAINERS_STORAGE_CONF).
    await Deno.writeTextFile(
      `${dir}/config/containers/storage.conf`,
      `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/data/storage"\n` +
        `runroot = "${dir}/run/containers"\n`,
    );
    let main = `${ROOT}main.ts`;
    if (PRIVILEGED) {
      const tree = `${dir}/userns`;
      await Deno.mkdir(tree);
      const entries = [...Deno.readDirSync(ROOT)].map((e) => e.name);
      await must("cp", [
        "-a",
        ...entries.filter((n) => n !== ".git")
          .map((n) => `${ROOT}${n}`),
        tree,
      ]);
      await must("chown", ["-R", `${user.uid}:${user.gid}`, dir]);
      main = `${tree}/main.ts`;
    }
    return new Sandbox(dir, user, main, {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: PRIVILEGED ? user.home : Deno.env.get("HOME") ?? user.home,
      XDG_RUNTIME_DIR: `${dir}/run`,
      XDG_CONFIG_HOME: `${dir}/config`,
      XDG_DATA_HOME: `${dir}/data`,
      TMPDIR: `${dir}/tmp`,
      NO_COLOR: "1",
    });
  }

  /**
   * Runs argv as the test user, with exactly {@link Sandbox.env}, in
   * {@link Sandbox.dir}; killed after two minutes.
   *
   * @param argv the program and its arguments
   * @returns its exit code and output
   */
  run(argv: string[]): Promise<Output> {
    return runAs(this.user, argv, this.env, this.dir);
  }

  /**
   * Runs the userns CLI as the test user.
   *
   * @param args its arguments (`["run", "--", "id"]`)
   * @returns its exit code and output
   */
  userns(args: string[]): Promise<Output> {
    return this.run([Deno.execPath(), "run", "-A", this.main, ...args]);
  }

  /**
   * Runs argv inside `userns run` and returns its stdout.
   *
   * @param argv the command
   * @returns what it printed
   * @throws {Error} when it exits non-zero, with its stderr
   */
  async inside(argv: string[]): Promise<string> {
    const out = await this.userns(["run", "--", ...argv]);
    if (out.code !== 0) {
      throw new Error(
        `userns run -- ${argv.join(" ")}: exit ${out.code}\n${out.stderr}`,
      );
    }
    return out.stdout;
  }

  /**
   * Processes still running that this sandbox started (podman's pause
   * process, conmon, a container's processes): those whose command line or
   * environment names the sandbox's dir.
   *
   * @returns `PID COMMAND LINE` for each
   */
  leftovers(): string[] {
    const found: string[] = [];
    for (const e of Deno.readDirSync("/proc")) {
      const pid = Number(e.name);
      if (!Number.isInteger(pid) || pid === Deno.pid) continue;
      const cmdline = readOr(`/proc/${pid}/cmdline`);
      const environ = readOr(`/proc/${pid}/environ`);
      if (`${cmdline}\0${environ}`.includes(this.dir) && alive(pid)) {
        found.push(`${pid} ${cmdline.replaceAll("\0", " ").trim()}`);
      }
    }
    return found;
  }

  /** Waits up to 5 s for {@link Sandbox.leftovers} to end, then kills them. */
  async #endLeftovers(): Promise<string[]> {
    let left = this.leftovers();
    for (let i = 0; i < 50 && left.length; i++, left = this.leftovers()) {
      await delay(100);
    }
    for (const p of left) {
      try {
        Deno.kill(Number(p.split(" ")[0]), "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    return left.map((p) => `left running: ${p}`);
  }

  /**
   * Removes every container and image, stops podman's pause process
   * (`podman system migrate`), waits for the sandbox's processes to end
   * (killing the ones left after 5 s) and removes the dir. Idempotent.
   *
   * @returns what was wrong: leftover storage or processes; empty if clean
   */
  async close(): Promise<string[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const problems: string[] = [];
    const rm = await this.userns(["run", "--", "sh", "-c", CLEAN]);
    if (rm.code !== 0 || rm.stdout !== "") {
      problems.push(
        `cleaning storage: exit ${rm.code}: ${rm.stdout}${rm.stderr}`,
      );
    }
    const migrate = await this.run(["podman", "system", "migrate"]);
    if (migrate.code !== 0) {
      problems.push(
        `podman system migrate: exit ${migrate.code}: ${migrate.stderr}`,
      );
    }
    problems.push(...await this.#endLeftovers());
    // Inside, where the files of every mapped id can be removed.
    await this.userns(["run", "--cwd", "/", "--", "rm", "-rf", this.dir]);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    try {
      Deno.statSync(this.dir);
      problems.push(`${this.dir} could not be removed`);
    } catch {
      // removed
    }
    return problems;
  }
}

/** Removes every container and image; prints what is still there. */
const CLEAN = `buildah rm --all >/dev/null
podman rm --all --force --time 0 >/dev/null
podman rmi --all --force >/dev/null
podman ps --all --quiet; podman images --quiet; buildah containers --quiet`;

async function must(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  }
}

/** A file's text, or "" when it cannot be read (gone, or not ours). */
function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}
