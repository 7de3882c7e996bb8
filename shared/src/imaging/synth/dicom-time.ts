/**
 * Synthetic clock for the generator. Every instant is a whole number of
 * seconds since the Unix epoch, interpreted as local scanner time without a
 * zone (DICOM DA/TM/DT carry no offset unless one is written). Whole seconds
 * keep the written TM values exact, so the SUV factor computed from the
 * header equals the one used to encode the pixels.
 */

const SECONDS_PER_DAY = 86_400;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function parts(epochSeconds: number): Date {
  if (!Number.isInteger(epochSeconds)) {
    throw new RangeError(`synthetic times are whole seconds, got ${epochSeconds}`);
  }
  return new Date(epochSeconds * 1000);
}

/** DICOM DA, YYYYMMDD. */
export function formatDa(epochSeconds: number): string {
  const d = parts(epochSeconds);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
}

/** DICOM TM, HHMMSS (whole seconds). */
export function formatTm(epochSeconds: number): string {
  const d = parts(epochSeconds);
  return `${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}`;
}

/** DICOM DT, YYYYMMDDHHMMSS (14 characters: an even length, so no padding byte). */
export function formatDt(epochSeconds: number): string {
  return `${formatDa(epochSeconds)}${formatTm(epochSeconds)}`;
}

/** Midnight (00:00:00) of the given calendar day, e.g. epochOfDay(2022, 3, 14). */
export function epochOfDay(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / 1000;
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(epochSeconds: number): number {
  return parts(epochSeconds).getUTCDay();
}

export { SECONDS_PER_DAY };
