/**
 * The check of `uidMap` and `gidMap` as `UsernsCommand`'s constructor makes
 * it: their shape and types. What the lines mean (counts of 0, overlaps,
 * ranges not delegated) is the planner's to refuse, naming the line
 * (`rules.ts`).
 *
 * @module
 */
import {
  isPlainObject,
  rangeError,
  typeError,
  unknownKey,
  unknownKeyError,
} from "../check/values.ts";
import { MAX_ID } from "./id_space.ts";

const ID_FIELDS = ["inner", "outer", "count"] as const;
const ID_EXPECTED = `an integer from 0 to ${MAX_ID}`;

/**
 * Checks `uidMap` or `gidMap`: an array of `{ inner, outer, count }`. Counts
 * of 0, overlaps and ranges past the ID space are the map planner's to
 * refuse, naming the line.
 *
 * @param value the option's value
 * @param name `uidMap` or `gidMap`
 * @throws {UsernsTypeError} for anything but such an array
 * @throws {UsernsRangeError} for a field that is not an ID
 */
export function checkIdMap(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw typeError(name, "an array of { inner, outer, count }", value);
  }
  for (let i = 0; i < value.length; i++) {
    const line: unknown = value[i];
    if (!isPlainObject(line)) {
      throw typeError(`${name}[${i}]`, "{ inner, outer, count }", line);
    }
    const key = unknownKey(line, ID_FIELDS);
    if (key !== undefined) {
      throw unknownKeyError(`${name}[${i}]`, key, ID_FIELDS);
    }
    for (let f = 0; f < ID_FIELDS.length; f++) {
      const v = line[ID_FIELDS[f]!];
      if (
        typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_ID
      ) {
        continue;
      }
      const at = `${name}[${i}].${ID_FIELDS[f]}`;
      throw typeof v === "number"
        ? rangeError(at, ID_EXPECTED, v)
        : typeError(at, ID_EXPECTED, v);
    }
  }
}
