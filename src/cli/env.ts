// Environment variables umlab reads, checked where a command starts rather than deep in
// the supervisor, where a bad value used to become "not ready after NaN s".
import { UsageError } from '../errors.ts';

export const DEFAULT_BOOT_TIMEOUT_S = 120;
export const MAX_BOOT_TIMEOUT_S = 3600;

/** UMLAB_BOOT_TIMEOUT in seconds: a number in (0, 3600]; unset or empty gives the default. */
export function bootTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UMLAB_BOOT_TIMEOUT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_BOOT_TIMEOUT_S;
  const value = /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0 && value <= MAX_BOOT_TIMEOUT_S))
    throw new UsageError(`UMLAB_BOOT_TIMEOUT=${JSON.stringify(raw)} is not a number of seconds between 1 and ${MAX_BOOT_TIMEOUT_S}`, {
      hint: `set e.g. UMLAB_BOOT_TIMEOUT=300, or unset it for the default ${DEFAULT_BOOT_TIMEOUT_S} s`,
    });
  return value;
}

/** Text from a lab file made safe for a terminal: control characters (escape sequences,
 *  carriage returns, bells; C1 too) become visible \xNN escapes. Newlines stay unless `oneLine`. */
export function printable(text: string, oneLine = false): string {
  const control = oneLine ? /[\x00-\x1f\x7f-\x9f]/g : /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g;
  return text.replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
