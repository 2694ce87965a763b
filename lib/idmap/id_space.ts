/**
 * The ID space the kernel maps: uids and gids from 0 to 4294967294;
 * 4294967295 (`(uid_t)-1`) means "no id". A map line, a sub-ID range and
 * an inside id to run as must all end within it.
 *
 * @module
 */

/** The end of the ID space: `first + count` of any range must be at most
 * this, inside and outside (kernel rule), and the largest id is one less. */
export const MAX_ID = 4294967295;
