import type { NaturalDataset } from 'dcmjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import {
  addDays,
  combineDateAndTime,
  compareDateTimes,
  type DicomDateTime,
  formatDateTime,
  isAtLeastPrecision,
  onDateOf,
  parseDicomDate,
  parseDicomDateTime,
  parseDicomTime,
  parseUtcOffset,
  secondsBetween,
  withUtcOffset,
} from '../dicom/date-time.ts';

/**
 * The body-weight SUV factor of one PET series: SUVbw (g/mL) = modality value
 * (stored × RescaleSlope + RescaleIntercept, applied per slice by the reader)
 * × factor. The rules are SCIENCE.md §1, i.e. the QIBA vendor-neutral
 * pseudo-code as implemented by Slicer's SUV factor calculator and
 * @cornerstonejs/calculate-suv; docs/suv.md lists them with their tags and
 * the two places where fedpet deliberately differs from calculate-suv.
 */

export type SuvUnits = 'BQML' | 'CNTS' | 'GML';
export type SuvDecayCorrection = 'START' | 'ADMIN';
export type ScanTimeSource = 'series' | 'gePrivate' | 'earliestAcquisition';
export type InjectionTimeSource = 'RadiopharmaceuticalStartDateTime' | 'RadiopharmaceuticalStartTime';

export interface SuvTimePoint<Source extends string> {
  /** YYYY-MM-DD (wall-clock, in the series' local time). */
  date: string;
  /** HH:MM:SS.ffffff */
  time: string;
  source: Source;
}

export interface PhilipsFactorUse {
  source: 'SUVScaleFactor (7053,1000)' | 'ActivityConcentrationScaleFactor (7053,1009)';
  value: number;
}

/**
 * How a factor was derived, for a human reviewing it. It holds acquisition
 * dates, times, weight and dose: it stays in the hospital with the images.
 * Fields that a rule did not need are null (e.g. times for GML).
 */
export interface SuvDerivation {
  units: SuvUnits;
  decayCorrection: SuvDecayCorrection;
  correctedImage: string[];
  scanTime: SuvTimePoint<ScanTimeSource> | null;
  injectionTime: SuvTimePoint<InjectionTimeSource> | null;
  midnightRuleApplied: boolean;
  /** Scan − injection in seconds (after the midnight rule), null when no decay correction is computed. */
  decaySeconds: number | null;
  halfLifeSeconds: number | null;
  injectedDoseBq: number | null;
  decayedDoseBq: number | null;
  weightKg: number | null;
  philipsFactor: PhilipsFactorUse | null;
  notes: string[];
}

export interface SuvFactor {
  factor: number;
  derivation: SuvDerivation;
}

// Field labels used in errors and notes: keyword and tag, never a value.
const F = {
  units: 'Units (0054,1001)',
  correctedImage: 'CorrectedImage (0028,0051)',
  decayCorrection: 'DecayCorrection (0054,1102)',
  weight: 'PatientWeight (0010,1030)',
  radiopharmaceutical: 'RadiopharmaceuticalInformationSequence (0054,0016)',
  dose: 'RadionuclideTotalDose (0018,1074)',
  halfLife: 'RadionuclideHalfLife (0018,1075)',
  startDateTime: 'RadiopharmaceuticalStartDateTime (0018,1078)',
  startTime: 'RadiopharmaceuticalStartTime (0018,1072)',
  seriesDate: 'SeriesDate (0008,0021)',
  seriesTime: 'SeriesTime (0008,0031)',
  acquisitionDate: 'AcquisitionDate (0008,0022)',
  acquisitionTime: 'AcquisitionTime (0008,0032)',
  acquisitionDateTime: 'AcquisitionDateTime (0008,002A)',
  frameAcquisitionDateTime:
    'PerFrameFunctionalGroupsSequence (5200,9230) > FrameContentSequence (0020,9111) > FrameAcquisitionDateTime (0018,9074)',
  timezone: 'TimezoneOffsetFromUTC (0008,0201)',
  geScanDateTime: 'GE private scan date-time (0009,xx0D, creator GEMS_PETD_01)',
  philipsSuv: 'Philips private SUV scale factor (7053,xx00, creator Philips PET Private Group)',
  philipsActivity:
    'Philips private activity concentration scale factor (7053,xx09, creator Philips PET Private Group)',
} as const;

const GE_CREATOR = 'GEMS_PETD_01';
const PHILIPS_CREATOR = 'Philips PET Private Group';
const SECONDS_PER_DAY = 86_400;

class SeriesErrors {
  constructor(readonly source: string) {}
  invalid(message: string): FedpetError {
    return new FedpetError(ErrorCodes.datasetInvalid, `SUV for series "${this.source}": ${message}`);
  }
}

// ---- reading naturalized (dcmjs) values -------------------------------------------------------

/** Text of a value: dcmjs gives strings, one-element arrays, or raw bytes for private tags read as UN. */
function textValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : textValue(value[0]);
  if (typeof value === 'string') return value.replace(/\0/g, '').trim() || undefined;
  if (typeof value === 'number') return String(value);
  const bytes =
    value instanceof ArrayBuffer
      ? new Uint8Array(value)
      : ArrayBuffer.isView(value)
        ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
        : undefined;
  if (bytes === undefined) return undefined;
  return textValue(new TextDecoder('latin1').decode(bytes));
}

/** A DS/IS/FD value as a number; undefined when absent; NaN when present but not numeric. */
function numberValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const text = textValue(value);
  return text === undefined ? undefined : Number(text);
}

/** Code strings of a multi-valued CS: dcmjs gives an array, or a plain string for one value. */
function codeValues(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items
    .flatMap((item) => (textValue(item) ?? '').split('\\'))
    .map((code) => code.trim().toUpperCase())
    .filter(Boolean);
}

function asDataset(value: unknown): NaturalDataset | undefined {
  return typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
    ? (value as NaturalDataset)
    : undefined;
}

/** The items of a sequence; dcmjs gives an array, older paths a single object. */
function sequenceItems(value: unknown): NaturalDataset[] {
  if (Array.isArray(value))
    return value.map(asDataset).filter((item): item is NaturalDataset => item !== undefined);
  const item = asDataset(value);
  return item === undefined ? [] : [item];
}

/**
 * A private element by creator: the creator string sits in (gggg,00bb) with
 * bb in 10–FF and reserves elements (gggg,bbxx); dcmjs keys them as 8 hex digits.
 */
function privateValue(
  dataset: NaturalDataset,
  group: string,
  creator: string,
  elementOffset: number,
): unknown {
  for (let block = 0x10; block <= 0xff; block++) {
    const blockHex = block.toString(16).toUpperCase().padStart(2, '0');
    if (textValue(dataset[`${group}00${blockHex}`]) !== creator) continue;
    return dataset[`${group}${blockHex}${elementOffset.toString(16).toUpperCase().padStart(2, '0')}`];
  }
  return undefined;
}

/** A series-level attribute: every instance must carry the same value (or all lack it). */
function seriesLevel(
  headers: readonly NaturalDataset[],
  errors: SeriesErrors,
  label: string,
  read: (header: NaturalDataset) => unknown,
): unknown {
  const first = read(headers[0]!);
  const key = JSON.stringify(normalisedForComparison(first));
  for (let i = 1; i < headers.length; i++) {
    if (JSON.stringify(normalisedForComparison(read(headers[i]!))) !== key) {
      throw errors.invalid(`${label} differs between instances; they must come from one series`);
    }
  }
  return first;
}

function normalisedForComparison(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalisedForComparison);
  const number = typeof value === 'number' ? value : undefined;
  return number ?? textValue(value) ?? null;
}

function radiopharmaceutical(header: NaturalDataset): NaturalDataset | undefined {
  return sequenceItems(header.RadiopharmaceuticalInformationSequence)[0];
}

// ---- the rules --------------------------------------------------------------------------------

function positiveNumber(value: unknown, label: string, errors: SeriesErrors): number {
  const number = numberValue(value);
  if (number === undefined) throw errors.invalid(`${label} is missing`);
  if (!Number.isFinite(number) || number <= 0) throw errors.invalid(`${label} is not a positive number`);
  return number;
}

function requireTimePrecision(dateTime: DicomDateTime, label: string, errors: SeriesErrors): DicomDateTime {
  if (!isAtLeastPrecision(dateTime.precision, 'minute')) {
    throw errors.invalid(`${label} gives no minutes; a decay time needs at least HHMM`);
  }
  return dateTime;
}

/** Context shared by the time rules of one series. */
interface TimeContext {
  headers: readonly NaturalDataset[];
  errors: SeriesErrors;
  notes: string[];
  /** TimezoneOffsetFromUTC in minutes, or null. */
  localOffset: number | null;
}

/** Brings a DT with an explicit UTC offset into the series' local wall-clock time. */
function localised(dateTime: DicomDateTime, label: string, context: TimeContext): DicomDateTime {
  if (dateTime.utcOffsetMinutes === null) return dateTime;
  if (context.localOffset !== null) return withUtcOffset(dateTime, context.localOffset);
  addNote(
    context.notes,
    `${label} carries a UTC offset but ${F.timezone} is absent: its wall-clock time is read as local time.`,
  );
  return dateTime;
}

/** Adds a note once (per-frame rules would otherwise repeat it for every frame). */
function addNote(notes: string[], note: string): void {
  if (!notes.includes(note)) notes.push(note);
}

function parseLocalDateTime(value: unknown, label: string, context: TimeContext): DicomDateTime {
  const field = `${label} in series "${context.errors.source}"`;
  return requireTimePrecision(
    localised(parseDicomDateTime(value, field), label, context),
    label,
    context.errors,
  );
}

function seriesDateTime(context: TimeContext): DicomDateTime {
  const { headers, errors } = context;
  const date = textValue(seriesLevel(headers, errors, F.seriesDate, (h) => h.SeriesDate));
  const time = textValue(seriesLevel(headers, errors, F.seriesTime, (h) => h.SeriesTime));
  if (date === undefined) throw errors.invalid(`${F.seriesDate} is missing`);
  if (time === undefined) throw errors.invalid(`${F.seriesTime} is missing`);
  const where = ` in series "${errors.source}"`;
  const combined = combineDateAndTime(
    parseDicomDate(date, F.seriesDate + where),
    parseDicomTime(time, F.seriesTime + where),
  );
  return requireTimePrecision(combined, F.seriesTime, errors);
}

/** Acquisition start of every frame of one instance: per-frame DT (enhanced), else AcquisitionDate/Time, else AcquisitionDateTime. */
function acquisitionDateTimes(header: NaturalDataset, context: TimeContext): DicomDateTime[] {
  const frameValues = sequenceItems(header.PerFrameFunctionalGroupsSequence)
    .map((frame) => sequenceItems(frame.FrameContentSequence)[0]?.FrameAcquisitionDateTime)
    .map(textValue)
    .filter((value): value is string => value !== undefined);
  if (frameValues.length > 0) {
    return frameValues.map((value) => parseLocalDateTime(value, F.frameAcquisitionDateTime, context));
  }
  const date = textValue(header.AcquisitionDate);
  const time = textValue(header.AcquisitionTime);
  if (date !== undefined && time !== undefined) {
    const where = ` in series "${context.errors.source}"`;
    const combined = combineDateAndTime(
      parseDicomDate(date, F.acquisitionDate + where),
      parseDicomTime(time, F.acquisitionTime + where),
    );
    return [requireTimePrecision(combined, F.acquisitionTime, context.errors)];
  }
  const dateTime = textValue(header.AcquisitionDateTime);
  if (dateTime !== undefined) return [parseLocalDateTime(dateTime, F.acquisitionDateTime, context)];
  const missing = date === undefined ? F.acquisitionDate : F.acquisitionTime;
  throw context.errors.invalid(
    `${missing} is missing from an instance (and there is no ${F.acquisitionDateTime})`,
  );
}

/**
 * Scan time: the series date-time, unless it is after the earliest acquisition
 * (a re-processed series, whose SeriesTime is the re-processing time): then
 * GE's private scan date-time if present, else the earliest acquisition.
 */
function scanDateTime(context: TimeContext): { at: DicomDateTime; source: ScanTimeSource } {
  const series = seriesDateTime(context);
  let earliest: DicomDateTime | undefined;
  for (const header of context.headers) {
    for (const acquisition of acquisitionDateTimes(header, context)) {
      if (earliest === undefined || compareDateTimes(acquisition, earliest) < 0) earliest = acquisition;
    }
  }
  if (earliest === undefined || compareDateTimes(series, earliest) <= 0)
    return { at: series, source: 'series' };

  const geValue = textValue(
    seriesLevel(context.headers, context.errors, F.geScanDateTime, (h) =>
      privateValue(h, '0009', GE_CREATOR, 0x0d),
    ),
  );
  if (geValue !== undefined) {
    context.notes.push(
      `${F.seriesDate}/${F.seriesTime} is after the earliest acquisition (a re-processed series): scan time from ${F.geScanDateTime}.`,
    );
    return { at: parseLocalDateTime(geValue, F.geScanDateTime, context), source: 'gePrivate' };
  }
  context.notes.push(
    `${F.seriesDate}/${F.seriesTime} is after the earliest acquisition (a re-processed series): scan time is the earliest acquisition date-time.`,
  );
  return { at: earliest, source: 'earliestAcquisition' };
}

/** Whether a TM spells the same time of day as a DT (an unreadable TM counts as different: it is not used). */
function sameTimeOfDay(time: string, dateTime: DicomDateTime): boolean {
  try {
    return parseDicomTime(time, F.startTime).microsecondOfDay === dateTime.microsecondOfDay;
  } catch {
    return false;
  }
}

interface DecayResult {
  scanTime: SuvTimePoint<ScanTimeSource>;
  injectionTime: SuvTimePoint<InjectionTimeSource>;
  decaySeconds: number;
  midnightRuleApplied: boolean;
}

/**
 * Δt = scan − injection. Injection is RadiopharmaceuticalStartDateTime if
 * present, else RadiopharmaceuticalStartTime on the scan date; in that case
 * only, a negative Δt means the injection was the day before (the midnight
 * rule). Any other negative Δt is an error.
 */
function decayTime(context: TimeContext): DecayResult {
  const { headers, errors, notes } = context;
  const scan = scanDateTime(context);
  const startDateTime = textValue(
    seriesLevel(
      headers,
      errors,
      F.startDateTime,
      (h) => radiopharmaceutical(h)?.RadiopharmaceuticalStartDateTime,
    ),
  );
  const startTime = textValue(
    seriesLevel(headers, errors, F.startTime, (h) => radiopharmaceutical(h)?.RadiopharmaceuticalStartTime),
  );

  let injection: DicomDateTime;
  let source: InjectionTimeSource;
  if (startDateTime !== undefined) {
    const raw = parseDicomDateTime(startDateTime, `${F.startDateTime} in series "${errors.source}"`);
    if (startTime !== undefined && !sameTimeOfDay(startTime, raw)) {
      addNote(notes, `${F.startTime} differs from the time in ${F.startDateTime}; the date-time is used.`);
    }
    injection = requireTimePrecision(localised(raw, F.startDateTime, context), F.startDateTime, errors);
    source = 'RadiopharmaceuticalStartDateTime';
  } else if (startTime !== undefined) {
    const timeOfDay = parseDicomTime(startTime, `${F.startTime} in series "${errors.source}"`);
    injection = requireTimePrecision(onDateOf(scan.at, timeOfDay), F.startTime, errors);
    source = 'RadiopharmaceuticalStartTime';
  } else {
    throw errors.invalid(
      `injection time is missing: neither ${F.startDateTime} nor ${F.startTime} in ${F.radiopharmaceutical}`,
    );
  }

  let decaySeconds = secondsBetween(scan.at, injection);
  let midnightRuleApplied = false;
  if (decaySeconds < 0) {
    if (source !== 'RadiopharmaceuticalStartTime') {
      throw errors.invalid(
        `${F.startDateTime} is after the scan time (${scan.source}); the decay time would be negative`,
      );
    }
    // The start time has no date: an injection "after" the scan on the scan date was the day before.
    injection = addDays(injection, -1);
    decaySeconds += SECONDS_PER_DAY;
    midnightRuleApplied = true;
    notes.push(
      `${F.startTime} is later in the day than the scan: the injection was the day before (midnight rule).`,
    );
  }
  return {
    scanTime: { ...formatDateTime(scan.at), source: scan.source },
    injectionTime: { ...formatDateTime(injection), source },
    decaySeconds,
    midnightRuleApplied,
  };
}

/** Reads Units, CorrectedImage and DecayCorrection and checks the QIBA preconditions. */
function preconditions(
  headers: readonly NaturalDataset[],
  errors: SeriesErrors,
): { units: SuvUnits; correctedImage: string[]; decayCorrection: SuvDecayCorrection } {
  const units = textValue(seriesLevel(headers, errors, F.units, (h) => h.Units))?.toUpperCase();
  if (units === undefined) throw errors.invalid(`${F.units} is missing`);
  if (units !== 'BQML' && units !== 'CNTS' && units !== 'GML') {
    throw errors.invalid(`${F.units} must be BQML, CNTS or GML, got ${units}`);
  }
  const correctedImage = codeValues(
    seriesLevel(headers, errors, F.correctedImage, (h) => codeValues(h.CorrectedImage)),
  );
  if (correctedImage.length === 0) throw errors.invalid(`${F.correctedImage} is missing`);
  for (const flag of ['ATTN', 'DECY']) {
    if (!correctedImage.includes(flag))
      throw errors.invalid(`${F.correctedImage} must contain ATTN and DECY; ${flag} is absent`);
  }
  const decayCorrection = textValue(
    seriesLevel(headers, errors, F.decayCorrection, (h) => h.DecayCorrection),
  )?.toUpperCase();
  if (decayCorrection === undefined) throw errors.invalid(`${F.decayCorrection} is missing`);
  if (decayCorrection !== 'START' && decayCorrection !== 'ADMIN') {
    throw errors.invalid(`${F.decayCorrection} must be START or ADMIN, got ${decayCorrection}`);
  }
  return { units, correctedImage, decayCorrection };
}

/** Philips CNTS: the private SUV factor if usable, else the activity-concentration factor, else an error. */
function philipsFactor(
  headers: readonly NaturalDataset[],
  errors: SeriesErrors,
  notes: string[],
): PhilipsFactorUse {
  const read = (offset: number, label: string): number | undefined => {
    const value = numberValue(
      seriesLevel(headers, errors, label, (h) => privateValue(h, '7053', PHILIPS_CREATOR, offset)),
    );
    if (value !== undefined && (!Number.isFinite(value) || value < 0))
      throw errors.invalid(`${label} is not a positive number`);
    return value;
  };
  const suvScale = read(0x00, F.philipsSuv);
  if (suvScale !== undefined && suvScale > 0)
    return { source: 'SUVScaleFactor (7053,1000)', value: suvScale };
  // calculate-suv also treats a zero SUV scale factor as absent.
  if (suvScale === 0) notes.push(`${F.philipsSuv} is zero: treated as absent.`);
  const activityScale = read(0x09, F.philipsActivity);
  if (activityScale !== undefined && activityScale > 0) {
    notes.push(
      `Units CNTS: ${F.philipsActivity} × RescaleSlope converts stored values to Bq/mL; the reader applies RescaleSlope, the factor carries (7053,1009), then the BQML rule applies.`,
    );
    return { source: 'ActivityConcentrationScaleFactor (7053,1009)', value: activityScale };
  }
  throw errors.invalid(`${F.units} is CNTS but neither ${F.philipsSuv} nor ${F.philipsActivity} is usable`);
}

/**
 * The SUVbw factor of one PET series from the headers of all its instances
 * (or the single dataset of an enhanced multi-frame file). `source` names the
 * series in errors. Throws FedpetError(DATASET_INVALID) naming the DICOM
 * field whenever a needed value is missing or inconsistent.
 */
export function computeSuvFactor(headers: readonly NaturalDataset[], source: string): SuvFactor {
  const errors = new SeriesErrors(source);
  if (headers.length === 0) throw errors.invalid('no instance headers were given');
  const { units, correctedImage, decayCorrection } = preconditions(headers, errors);
  const notes: string[] = [];
  const derivation: SuvDerivation = {
    units,
    decayCorrection,
    correctedImage,
    scanTime: null,
    injectionTime: null,
    midnightRuleApplied: false,
    decaySeconds: null,
    halfLifeSeconds: null,
    injectedDoseBq: null,
    decayedDoseBq: null,
    weightKg: null,
    philipsFactor: null,
    notes,
  };

  if (units === 'GML') {
    notes.push('Units GML: values are already SUVbw in g/mL; factor 1.');
    return { factor: 1, derivation };
  }

  let activityScale = 1;
  if (units === 'CNTS') {
    const philips = philipsFactor(headers, errors, notes);
    derivation.philipsFactor = philips;
    if (philips.source === 'SUVScaleFactor (7053,1000)') {
      notes.push(`Units CNTS: ${F.philipsSuv} is the factor, passed through.`);
      return { factor: philips.value, derivation };
    }
    activityScale = philips.value;
  }

  const weightKg = positiveNumber(
    seriesLevel(headers, errors, F.weight, (h) => h.PatientWeight),
    F.weight,
    errors,
  );
  if (radiopharmaceutical(headers[0]!) === undefined)
    throw errors.invalid(`${F.radiopharmaceutical} is missing`);
  const items = sequenceItems(headers[0]!.RadiopharmaceuticalInformationSequence).length;
  if (items > 1) notes.push(`${F.radiopharmaceutical} has ${items} items; the first is used.`);
  const injectedDoseBq = positiveNumber(
    seriesLevel(headers, errors, F.dose, (h) => radiopharmaceutical(h)?.RadionuclideTotalDose),
    F.dose,
    errors,
  );
  const halfLifeSeconds = positiveNumber(
    seriesLevel(headers, errors, F.halfLife, (h) => radiopharmaceutical(h)?.RadionuclideHalfLife),
    F.halfLife,
    errors,
  );
  Object.assign(derivation, { weightKg, injectedDoseBq, halfLifeSeconds });

  let decayedDoseBq: number;
  if (decayCorrection === 'ADMIN') {
    // Pixels are already decay-corrected to the administration time: the full dose applies.
    decayedDoseBq = injectedDoseBq;
    notes.push(
      `${F.decayCorrection} is ADMIN: images are decay-corrected to injection; no further decay correction.`,
    );
  } else {
    const timezone = textValue(seriesLevel(headers, errors, F.timezone, (h) => h.TimezoneOffsetFromUTC));
    const localOffset =
      timezone === undefined ? null : parseUtcOffset(timezone, `${F.timezone} in series "${source}"`);
    const decay = decayTime({ headers, errors, notes, localOffset });
    decayedDoseBq = injectedDoseBq * 2 ** (-decay.decaySeconds / halfLifeSeconds);
    Object.assign(derivation, decay);
  }
  derivation.decayedDoseBq = decayedDoseBq;
  // SUVbw = C (Bq/mL) × weight (g) / decayed dose (Bq), taking 1 mL of tissue as 1 g.
  return { factor: (activityScale * weightKg * 1000) / decayedDoseBq, derivation };
}
