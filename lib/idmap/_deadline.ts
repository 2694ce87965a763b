/**
 * The deadlines of the map writes waiting for their helpers
 * (`helperTimeout`), watched by one native timer for all. Private to
 * `write.ts`.
 *
 * @module
 */
import { getReactor } from "../../ffi/reactor.ts";

/** A write's deadline, and what to do once it has passed. */
export interface Deadline {
  /** When, in ms since the epoch. */
  at: number;
  /** Kills its helpers: it has passed, or it cannot be watched (`error`). */
  expire: (error?: unknown) => void;
}

/**
 * The deadlines of the writes waiting for their helpers, watched by one
 * native timer for all (the runtime's own first timer would cost a CLI's
 * start some 5 ms). The timer does not keep the event loop alive:
 * writeIdMaps() refs the reactor, whose events are the helpers' exits,
 * while they run.
 */
const deadlines = new Set<Deadline>();
let cancelTimer: (() => void) | undefined;
let timerAt = Infinity;

/**
 * Watches a deadline until {@link forgetDeadline}; it expires once passed.
 *
 * @param d the deadline
 */
export function watchDeadline(d: Deadline): void {
  deadlines.add(d);
  if (d.at >= timerAt) return;
  try {
    armTimer(d.at);
  } catch (e) {
    // The timer armed before, if any, still watches the others.
    deadlines.delete(d);
    d.expire(e);
  }
}

/**
 * Forgets a deadline; the timer goes with the last one (it holds an fd).
 *
 * @param d the deadline
 */
export function forgetDeadline(d: Deadline): void {
  deadlines.delete(d);
  if (deadlines.size === 0) {
    cancelTimer?.();
    cancelTimer = undefined;
    timerAt = Infinity;
  }
}

/**
 * Arms the timer for `at`, in place of the one before only once the new
 * one exists.
 *
 * @throws {SpawnError} SETUP when no timer can be made
 */
function armTimer(at: number): void {
  const cancel = getReactor().timer(at - Date.now(), expireDeadlines);
  cancelTimer?.();
  cancelTimer = cancel;
  timerAt = at;
}

function expireDeadlines(): void {
  cancelTimer = undefined;
  timerAt = Infinity;
  const now = Date.now();
  let next = Infinity;
  for (const d of deadlines) {
    if (d.at > now) next = Math.min(next, d.at);
    else deadlines.delete(d), d.expire();
  }
  if (next === Infinity) return;
  try {
    armTimer(next);
  } catch (e) {
    // No timer is left to watch them: those writes end with the error.
    for (const d of deadlines) deadlines.delete(d), d.expire(e);
  }
}
