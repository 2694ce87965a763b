/**
 * `file:` URLs as paths, decoded exactly as `Deno.Command` decodes its
 * `command` and `cwd`: a string is a path as it is (even one that starts
 * with `file:`), a `URL` must be a `file:` URL with an empty host
 * (`file://localhost/` counts as empty), and its path is percent-decoded as
 * UTF-8, `%2F` included; a `%` not followed by two hex digits stays a `%`.
 * The query and fragment are ignored.
 *
 * @module
 */
import { UsernsTypeError, UsernsURIError } from "../errors/builtin.ts";
import { describe, typeError } from "./values.ts";

/** A `%` not followed by two hex digits; Deno keeps it as a literal `%`. */
const LONE_PERCENT = /%(?![0-9A-Fa-f]{2})/g;

/**
 * The path a `command`, `cwd` or `root` option names.
 *
 * @example Usage
 * ```ts
 * import { pathFromUrl } from "./file_url.ts";
 * console.assert(pathFromUrl(new URL("file:///tmp/a%20b")) === "/tmp/a b");
 * console.assert(pathFromUrl("file:///x") === "file:///x"); // a relative path
 * ```
 *
 * @param path a path, or a `file:` URL
 * @param name the option, for messages
 * @returns the path; a string unchanged
 * @throws {UsernsTypeError} when `path` is neither a string nor a URL, is a
 * URL of another scheme, or a `file:` URL with a host (Deno: `TypeError`)
 * @throws {UsernsURIError} when its percent-encoding is not UTF-8 (Deno:
 * `URIError`)
 */
export function pathFromUrl(path: string | URL, name = "path"): string {
  if (typeof path === "string") return path;
  if (!(path instanceof URL)) {
    throw typeError(name, "a string or a file: URL", path);
  }
  if (path.protocol !== "file:") {
    throw typeError(name, "a path or a file: URL", path);
  }
  if (path.hostname !== "") {
    throw new UsernsTypeError(
      "INVALID_ARGUMENT",
      `${name} must be a file: URL with an empty host, got host ${
        describe(path.hostname)
      }`,
    );
  }
  const encoded = path.pathname;
  if (!encoded.includes("%")) return encoded;
  try {
    return decodeURIComponent(encoded.replace(LONE_PERCENT, "%25"));
  } catch (e) {
    throw new UsernsURIError(
      "INVALID_ARGUMENT",
      `${name} is not a valid percent-encoded UTF-8 path: ${describe(encoded)}`,
      { cause: e },
    );
  }
}
