import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';

/**
 * DICOM DA, TM and DT values (PS3.5 §6.2) parsed into integers, so that time
 * differences come out exact to the microsecond.
 *
 * Local times are naive: a DA/TM pair or a DT without a UTC offset is the
 * wall-clock time it spells, with no time zone applied. A DT that carries an
 * offset (&ZZXX) keeps it in `utcOffsetMinutes`; whoever compares it with a
 * naive time decides what to do with it (see `withUtcOffset`).
 *
 * Errors name the field (the caller's label) and say what is wrong, never the
 * value itself: DICOM dates and times of a patient stay out of logs.
 */

/** How much of a time or date-time was given; missing components default to their minimum. */
export type DicomPrecision = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'fraction';

const PRECISION_ORDER: readonly DicomPrecision[] = [
  'year',
  'month',
  'day',
  'hour',
  'minute',
  'second',
  'fraction',
];

/** True when `actual` carries at least the components of `required`. */
export function isAtLeastPrecision(actual: DicomPrecision, required: DicomPrecision): boolean {
  return PRECISION_ORDER.indexOf(actual) >= PRECISION_ORDER.indexOf(required);
}

export interface DicomDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Days since 1970-01-01 (proleptic Gregorian calendar); negative before. */
  readonly epochDay: number;
}

export interface DicomTime {
  /** Microseconds since midnight, an integer in [0, 86 401 000 000) (SS may be 60, a leap second). */
  readonly microsecondOfDay: number;
  readonly precision: DicomPrecision;
}

export interface DicomDateTime {
  /** Days since 1970-01-01 of the wall-clock date. */
  readonly epochDay: number;
  /** Microseconds since the wall-clock midnight of `epochDay`. */
  readonly microsecondOfDay: number;
  readonly precision: DicomPrecision;
  /** The DT's explicit UTC offset (&ZZXX) in minutes, or null when it had none. */
  readonly utcOffsetMinutes: number | null;
}

const MICROSECONDS_PER_SECOND = 1_000_000;
const MICROSECONDS_PER_DAY = 86_400 * MICROSECONDS_PER_SECOND;

function malformed(field: string, kind: string, why: string): FedpetError {
  return new FedpetError(ErrorCodes.datasetInvalid, `${field} is not a valid DICOM ${kind} value: ${why}`);
}

function textOf(value: unknown, field: string, kind: string): string {
  if (typeof value !== 'string') throw malformed(field, kind, `expected a string, got ${typeof value}`);
  // DICOM pads values to even length with a trailing space; dcmjs keeps it.
  return value.trim();
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (the "days from civil"
 * algorithm of H. Hinnant, chrono-Compatible Low-Level Date Algorithms); plain
 * integer arithmetic, so it is exact for every DICOM year 0000–9999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function civilFromDays(epochDay: number): { year: number; month: number; day: number } {
  const z = epochDay + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function checkDate(year: number, month: number, day: number, field: string, kind: string): DicomDate {
  if (month < 1 || month > 12) throw malformed(field, kind, 'month out of range 01–12');
  if (day < 1 || day > daysInMonth(year, month))
    throw malformed(field, kind, 'day out of range for its month');
  return { year, month, day, epochDay: daysFromCivil(year, month, day) };
}

/** Microseconds from the fraction digits after the decimal point (1–6 digits). */
function fractionMicroseconds(digits: string): number {
  return Number(digits.padEnd(6, '0'));
}

function checkTime(
  parts: { hour: string; minute?: string; second?: string; fraction?: string },
  field: string,
  kind: string,
): DicomTime {
  const hour = Number(parts.hour);
  const minute = parts.minute === undefined ? 0 : Number(parts.minute);
  const second = parts.second === undefined ? 0 : Number(parts.second);
  if (hour > 23) throw malformed(field, kind, 'hour out of range 00–23');
  if (minute > 59) throw malformed(field, kind, 'minute out of range 00–59');
  // PS3.5 allows SS = 60 for a leap second.
  if (second > 60) throw malformed(field, kind, 'second out of range 00–60');
  const fraction = parts.fraction === undefined ? 0 : fractionMicroseconds(parts.fraction);
  const precision: DicomPrecision =
    parts.fraction !== undefined
      ? 'fraction'
      : parts.second !== undefined
        ? 'second'
        : parts.minute !== undefined
          ? 'minute'
          : 'hour';
  return {
    microsecondOfDay: ((hour * 60 + minute) * 60 + second) * MICROSECONDS_PER_SECOND + fraction,
    precision,
  };
}

// YYYYMMDD, or the ACR-NEMA form YYYY.MM.DD that PS3.5 asks readers to accept.
const DA_PATTERN = /^(\d{4})(?:(\d{2})(\d{2})|\.(\d{2})\.(\d{2}))$/;

/** Parses a DA value (YYYYMMDD; also the legacy YYYY.MM.DD). */
export function parseDicomDate(value: unknown, field: string): DicomDate {
  const text = textOf(value, field, 'DA');
  if (text === '') throw malformed(field, 'DA', 'empty');
  const match = DA_PATTERN.exec(text);
  if (!match) throw malformed(field, 'DA', 'expected YYYYMMDD');
  const [, year, month1, day1, month2, day2] = match;
  return checkDate(Number(year), Number(month1 ?? month2), Number(day1 ?? day2), field, 'DA');
}

// HH[MM[SS[.F{1,6}]]]
const TM_PATTERN = /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$/;
// ACR-NEMA HH:MM[:SS[.F{1,6}]], still written by some old PET consoles.
const TM_LEGACY_PATTERN = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;

/** Parses a TM value (HHMMSS.FFFFFF with optional trailing parts; also the legacy HH:MM:SS.FFFFFF). */
export function parseDicomTime(value: unknown, field: string): DicomTime {
  const text = textOf(value, field, 'TM');
  if (text === '') throw malformed(field, 'TM', 'empty');
  const match = TM_PATTERN.exec(text) ?? TM_LEGACY_PATTERN.exec(text);
  if (!match) throw malformed(field, 'TM', 'expected HHMMSS.FFFFFF');
  const [, hour, minute, second, fraction] = match;
  return checkTime({ hour: hour!, minute, second, fraction }, field, 'TM');
}

// YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]
const DT_PATTERN =
  /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?(?:([+-])(\d{2})(\d{2}))?$/;

/** Parses a UTC offset written as &ZZXX (e.g. "+0100", "-0500"), as in DT or TimezoneOffsetFromUTC (0008,0201). */
export function parseUtcOffset(value: unknown, field: string): number {
  const text = textOf(value, field, 'UTC offset');
  const match = /^([+-])(\d{2})(\d{2})$/.exec(text);
  if (!match) throw malformed(field, 'UTC offset', 'expected &ZZXX, e.g. +0100');
  return offsetMinutes(match[1]!, match[2]!, match[3]!, field, 'UTC offset');
}

function offsetMinutes(sign: string, hours: string, minutes: string, field: string, kind: string): number {
  const total = Number(hours) * 60 + Number(minutes);
  if (Number(minutes) > 59) throw malformed(field, kind, 'UTC offset minutes out of range 00–59');
  const signed = sign === '-' ? -total : total;
  // PS3.5: offsets range from -1200 to +1400.
  if (signed < -12 * 60 || signed > 14 * 60) throw malformed(field, kind, 'UTC offset outside -1200…+1400');
  return signed;
}

/** Parses a DT value (YYYYMMDDHHMMSS.FFFFFF&ZZXX, trailing components and the offset optional). */
export function parseDicomDateTime(value: unknown, field: string): DicomDateTime {
  const text = textOf(value, field, 'DT');
  if (text === '') throw malformed(field, 'DT', 'empty');
  const match = DT_PATTERN.exec(text);
  if (!match) throw malformed(field, 'DT', 'expected YYYYMMDDHHMMSS.FFFFFF&ZZXX');
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMins] = match;
  const date = checkDate(
    Number(year),
    month === undefined ? 1 : Number(month),
    day === undefined ? 1 : Number(day),
    field,
    'DT',
  );
  const time =
    hour === undefined
      ? {
          microsecondOfDay: 0,
          precision: (day !== undefined ? 'day' : month !== undefined ? 'month' : 'year') as DicomPrecision,
        }
      : checkTime({ hour, minute, second, fraction }, field, 'DT');
  return {
    epochDay: date.epochDay,
    microsecondOfDay: time.microsecondOfDay,
    precision: time.precision,
    utcOffsetMinutes: sign === undefined ? null : offsetMinutes(sign, offsetHours!, offsetMins!, field, 'DT'),
  };
}

/** A naive date-time from a DA and a TM (e.g. SeriesDate + SeriesTime). */
export function combineDateAndTime(date: DicomDate, time: DicomTime): DicomDateTime {
  return {
    epochDay: date.epochDay,
    microsecondOfDay: time.microsecondOfDay,
    precision: time.precision,
    utcOffsetMinutes: null,
  };
}

/** The given time of day on the wall-clock date of `dateTime` (e.g. a TM on the scan date). */
export function onDateOf(dateTime: DicomDateTime, time: DicomTime): DicomDateTime {
  return {
    epochDay: dateTime.epochDay,
    microsecondOfDay: time.microsecondOfDay,
    precision: time.precision,
    utcOffsetMinutes: null,
  };
}

/** Normalises so that 0 ≤ microsecondOfDay < one day (after shifting by minutes). */
function normalised(
  epochDay: number,
  microsecondOfDay: number,
): { epochDay: number; microsecondOfDay: number } {
  const carry = Math.floor(microsecondOfDay / MICROSECONDS_PER_DAY);
  return { epochDay: epochDay + carry, microsecondOfDay: microsecondOfDay - carry * MICROSECONDS_PER_DAY };
}

/**
 * Re-expresses a date-time in the wall-clock time of another UTC offset:
 * local(target) = local(own) − ownOffset + targetOffset. The result carries
 * `targetOffsetMinutes`. The date-time must have an explicit offset.
 */
export function withUtcOffset(dateTime: DicomDateTime, targetOffsetMinutes: number): DicomDateTime {
  if (dateTime.utcOffsetMinutes === null)
    throw new TypeError('withUtcOffset needs a date-time with a UTC offset');
  const shift = (targetOffsetMinutes - dateTime.utcOffsetMinutes) * 60 * MICROSECONDS_PER_SECOND;
  const { epochDay, microsecondOfDay } = normalised(dateTime.epochDay, dateTime.microsecondOfDay + shift);
  return { epochDay, microsecondOfDay, precision: dateTime.precision, utcOffsetMinutes: targetOffsetMinutes };
}

/** The same wall-clock time `days` days later (negative: earlier). */
export function addDays(dateTime: DicomDateTime, days: number): DicomDateTime {
  return { ...dateTime, epochDay: dateTime.epochDay + days };
}

/**
 * later − earlier in seconds, both read as naive wall-clock times. Computed on
 * integer microseconds, so any difference under ~285 years is exact before the
 * final division.
 */
export function secondsBetween(later: DicomDateTime, earlier: DicomDateTime): number {
  const micros =
    (later.epochDay - earlier.epochDay) * MICROSECONDS_PER_DAY +
    (later.microsecondOfDay - earlier.microsecondOfDay);
  return micros / MICROSECONDS_PER_SECOND;
}

/** Orders two naive date-times: negative when a is earlier. */
export function compareDateTimes(a: DicomDateTime, b: DicomDateTime): number {
  return a.epochDay - b.epochDay || a.microsecondOfDay - b.microsecondOfDay;
}

/** The date as YYYY-MM-DD and the time as HH:MM:SS.ffffff, for human-readable reports. */
export function formatDateTime(dateTime: DicomDateTime): { date: string; time: string } {
  const { year, month, day } = civilFromDays(dateTime.epochDay);
  const totalSeconds = Math.floor(dateTime.microsecondOfDay / MICROSECONDS_PER_SECOND);
  const micros = dateTime.microsecondOfDay - totalSeconds * MICROSECONDS_PER_SECOND;
  // A leap second (SS = 60) at 23:59:60 shows as 23:59:60, not as the next day.
  const hours = Math.min(23, Math.floor(totalSeconds / 3600));
  const minutes = Math.min(59, Math.floor((totalSeconds - hours * 3600) / 60));
  const seconds = totalSeconds - hours * 3600 - minutes * 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return {
    date: `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}`,
    time: `${two(hours)}:${two(minutes)}:${two(seconds)}.${String(micros).padStart(6, '0')}`,
  };
}
