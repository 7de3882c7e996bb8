import type { NaturalDataset } from 'dcmjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { cross, dot, type Vec3, type Volume } from '../volume.ts';
import { decodeFrameInto, frameByteLength, type PixelFormat } from './pixel-data.ts';
import { readDicomFile } from './read-file.ts';
import type { DicomSeries } from './scan-tree.ts';

/** One slice of the volume, in k order. */
export interface FrameInfo {
  file: string;
  /** 1-based frame number within its file (1 for a single-frame file). */
  frameNumber: number;
  imagePosition: Vec3;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** DA, e.g. "20240131" (AcquisitionDate, or the date part of FrameAcquisitionDateTime). */
  acquisitionDate?: string;
  /** TM, e.g. "103015.25" (AcquisitionTime, or the time part of FrameAcquisitionDateTime). */
  acquisitionTime?: string;
  /** The DT as written (FrameAcquisitionDateTime or AcquisitionDateTime), UTC offset included, when there was one. */
  acquisitionDateTime?: string;
}

export interface SeriesVolume {
  /** Values in modality units: stored × RescaleSlope + RescaleIntercept, per slice. */
  volume: Volume;
  frames: FrameInfo[];
  warnings: string[];
}

// Tolerances. Scanners write IOP, IPP and PixelSpacing as decimal strings with
// about 6 decimals, so values that should agree differ by ~1e-6.
/** Largest difference between two IOP components still read as the same plane. */
const ORIENTATION_TOLERANCE = 1e-4;
/** Largest deviation of |row|, |column| from 1, and of row·column from 0. */
const ORTHONORMAL_TOLERANCE = 1e-3;
/** Largest difference (mm) between two PixelSpacing values still read as equal. */
const PIXEL_SPACING_TOLERANCE = 1e-4;
/** Two slices closer than this (mm) along the normal are the same position. */
const DUPLICATE_TOLERANCE_MM = 0.01;
/** A spacing further than this fraction from the median is a gap (a missing or extra slice). */
const GAP_FRACTION = 0.1;
/** Spacings that vary more than this fraction of the median (but less than a gap) earn a warning. */
const SPACING_WARNING_FRACTION = 0.01;
/** In-plane drift allowed, as a fraction of the smaller pixel spacing (and at least DRIFT_MIN_MM). */
const DRIFT_FRACTION_OF_PIXEL = 0.05;
const DRIFT_MIN_MM = 0.01;
/** Files decoded at the same time: each holds one file's bytes in memory. */
const READ_CONCURRENCY = 4;

/** A frame as its header describes it, before ordering. */
interface RawFrame {
  fileIndex: number;
  frameIndex: number;
  where: string;
  position: Vec3;
  orientation: number[];
  pixelSpacing: number[];
  rows: number;
  columns: number;
  slope: number;
  intercept: number;
  rescaleGiven: boolean;
  sliceThickness: number | undefined;
  acquisitionDate?: string;
  acquisitionTime?: string;
  acquisitionDateTime?: string;
}

function fail(message: string): never {
  throw new FedpetError(ErrorCodes.datasetInvalid, message);
}

/** A sequence's items: dcmjs gives an array, some writers' data arrive as one object. */
function items(dataset: NaturalDataset | undefined, keyword: string): NaturalDataset[] | undefined {
  const value = dataset?.[keyword];
  if (Array.isArray(value)) return value as NaturalDataset[];
  if (value !== null && typeof value === 'object') return [value as NaturalDataset];
  return undefined;
}

function numbers(dataset: NaturalDataset | undefined, keyword: string, where: string): number[] | undefined {
  const value = dataset?.[keyword];
  if (value === undefined || value === null || value === '') return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    const parsed =
      typeof entry === 'number' ? entry : typeof entry === 'string' ? Number(entry.trim()) : Number.NaN;
    if (!Number.isFinite(parsed)) fail(`${where}: ${keyword} is not a number`);
    return parsed;
  });
}

function requireNumbers(
  dataset: NaturalDataset | undefined,
  keyword: string,
  count: number,
  where: string,
): number[] {
  const values = numbers(dataset, keyword, where);
  if (values === undefined) fail(`${where}: ${keyword} is missing`);
  if (values.length !== count) fail(`${where}: ${keyword} has ${values.length} values, expected ${count}`);
  return values;
}

function optionalNumber(
  dataset: NaturalDataset | undefined,
  keyword: string,
  where: string,
): number | undefined {
  return numbers(dataset, keyword, where)?.[0];
}

function requireCount(dataset: NaturalDataset, keyword: string, where: string): number {
  const value = requireNumbers(dataset, keyword, 1, where)[0]!;
  if (!Number.isInteger(value) || value < 1) fail(`${where}: ${keyword} must be a positive integer`);
  return value;
}

function text(dataset: NaturalDataset | undefined, keyword: string): string | undefined {
  const value = dataset?.[keyword];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

/** Splits a DT (YYYYMMDDHHMMSS.FFFFFF&ZZXX) into its DA and TM parts; the UTC offset stays in the DT. */
function splitDateTime(dateTime: string): { acquisitionDate?: string; acquisitionTime?: string } {
  const local = dateTime.replace(/[+-]\d{4}$/, '');
  const date = local.length >= 8 ? local.slice(0, 8) : undefined;
  const time = local.length > 8 ? local.slice(8) : undefined;
  return { ...(date ? { acquisitionDate: date } : {}), ...(time ? { acquisitionTime: time } : {}) };
}

function acquisitionOf(
  dateTime: string | undefined,
  date: string | undefined,
  time: string | undefined,
): Pick<RawFrame, 'acquisitionDate' | 'acquisitionTime' | 'acquisitionDateTime'> {
  if (dateTime) return { ...splitDateTime(dateTime), acquisitionDateTime: dateTime };
  return { ...(date ? { acquisitionDate: date } : {}), ...(time ? { acquisitionTime: time } : {}) };
}

function rescaleOf(
  source: NaturalDataset | undefined,
  where: string,
): { slope: number; intercept: number; given: boolean } {
  const slope = optionalNumber(source, 'RescaleSlope', where);
  const intercept = optionalNumber(source, 'RescaleIntercept', where);
  if (slope === 0) fail(`${where}: RescaleSlope is 0`);
  return {
    slope: slope ?? 1,
    intercept: intercept ?? 0,
    given: slope !== undefined && intercept !== undefined,
  };
}

function position(values: number[]): Vec3 {
  return [values[0]!, values[1]!, values[2]!];
}

/** The frames of one file: one for a classic image, NumberOfFrames for an enhanced multi-frame image. */
function framesOfFile(header: NaturalDataset, fileIndex: number, file: string, label: string): RawFrame[] {
  const where = `${label}, ${file}`;
  const rows = requireCount(header, 'Rows', where);
  const columns = requireCount(header, 'Columns', where);
  const numberOfFrames = optionalNumber(header, 'NumberOfFrames', where) ?? 1;
  const perFrame = items(header, 'PerFrameFunctionalGroupsSequence');
  if (perFrame === undefined) {
    if (numberOfFrames !== 1) {
      fail(
        `${where}: NumberOfFrames is ${numberOfFrames} without a PerFrameFunctionalGroupsSequence (only enhanced multi-frame images carry per-frame positions)`,
      );
    }
    const rescale = rescaleOf(header, where);
    return [
      {
        fileIndex,
        frameIndex: 0,
        where: file,
        position: position(requireNumbers(header, 'ImagePositionPatient', 3, where)),
        orientation: requireNumbers(header, 'ImageOrientationPatient', 6, where),
        pixelSpacing: requireNumbers(header, 'PixelSpacing', 2, where),
        rows,
        columns,
        slope: rescale.slope,
        intercept: rescale.intercept,
        rescaleGiven: rescale.given,
        sliceThickness: optionalNumber(header, 'SliceThickness', where),
        ...acquisitionOf(
          text(header, 'AcquisitionDateTime'),
          text(header, 'AcquisitionDate'),
          text(header, 'AcquisitionTime'),
        ),
      },
    ];
  }
  if (perFrame.length !== numberOfFrames) {
    fail(
      `${where}: PerFrameFunctionalGroupsSequence has ${perFrame.length} items but NumberOfFrames is ${numberOfFrames}`,
    );
  }
  const shared = items(header, 'SharedFunctionalGroupsSequence')?.[0];
  // A functional group sits in the frame's item or, when the same for all frames, in the shared item (PS3.3 C.7.6.16).
  return perFrame.map((frame, frameIndex) => {
    const frameWhere = `${where} frame ${frameIndex + 1}`;
    const group = (name: string): NaturalDataset | undefined =>
      items(frame, name)?.[0] ?? items(shared, name)?.[0];
    const planePosition = group('PlanePositionSequence');
    const planeOrientation = group('PlaneOrientationSequence');
    const measures = group('PixelMeasuresSequence');
    if (!planePosition) fail(`${frameWhere}: PlanePositionSequence is missing`);
    if (!planeOrientation) fail(`${frameWhere}: PlaneOrientationSequence is missing`);
    if (!measures) fail(`${frameWhere}: PixelMeasuresSequence is missing`);
    const transformation = group('PixelValueTransformationSequence');
    const rescale = rescaleOf(transformation ?? header, frameWhere);
    const content = group('FrameContentSequence');
    return {
      fileIndex,
      frameIndex,
      where: `${file} frame ${frameIndex + 1}`,
      position: position(requireNumbers(planePosition, 'ImagePositionPatient', 3, frameWhere)),
      orientation: requireNumbers(planeOrientation, 'ImageOrientationPatient', 6, frameWhere),
      pixelSpacing: requireNumbers(measures, 'PixelSpacing', 2, frameWhere),
      rows,
      columns,
      slope: rescale.slope,
      intercept: rescale.intercept,
      rescaleGiven: rescale.given,
      sliceThickness: optionalNumber(measures, 'SliceThickness', frameWhere),
      ...acquisitionOf(
        text(content, 'FrameAcquisitionDateTime') ?? text(header, 'AcquisitionDateTime'),
        undefined,
        undefined,
      ),
    };
  });
}

function collectFrames(series: DicomSeries, label: string): RawFrame[] {
  if (series.files.length === 0) fail(`${label}: no files`);
  if (series.headers.length !== series.files.length)
    fail(`${label}: ${series.files.length} files but ${series.headers.length} headers`);
  const frames: RawFrame[] = [];
  let singleFrameFile: string | undefined;
  let multiFrameFile: string | undefined;
  series.files.forEach((file, fileIndex) => {
    const header = series.headers[fileIndex]!;
    if (items(header, 'PerFrameFunctionalGroupsSequence') === undefined) singleFrameFile ??= file;
    else multiFrameFile ??= file;
    frames.push(...framesOfFile(header, fileIndex, file, label));
  });
  if (singleFrameFile !== undefined && multiFrameFile !== undefined) {
    fail(
      `${label}: mixes single-frame files (e.g. ${singleFrameFile}) and multi-frame files (e.g. ${multiFrameFile})`,
    );
  }
  if (frames.length < 2) fail(`${label}: has a single slice; a volume needs at least two`);
  return frames;
}

function length3(v: Vec3): number {
  return Math.sqrt(dot(v, v));
}

function scale(v: Vec3, s: number): Vec3 {
  return [v[0] * s, v[1] * s, v[2] * s];
}

function subtract(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

/** Checks that every frame has the first frame's grid and plane; returns the orthonormal row, column and normal. */
function commonPlane(frames: readonly RawFrame[], label: string): { row: Vec3; column: Vec3; normal: Vec3 } {
  const first = frames[0]!;
  for (const frame of frames) {
    if (frame.rows !== first.rows || frame.columns !== first.columns) {
      fail(
        `${label}: Rows/Columns differ across slices: ${first.where} is ${first.rows}×${first.columns}, ${frame.where} is ${frame.rows}×${frame.columns}`,
      );
    }
    if (frame.pixelSpacing.some((v, i) => Math.abs(v - first.pixelSpacing[i]!) > PIXEL_SPACING_TOLERANCE)) {
      fail(
        `${label}: PixelSpacing differs across slices: ${first.where} has ${first.pixelSpacing.join('\\')}, ${frame.where} has ${frame.pixelSpacing.join('\\')}`,
      );
    }
    if (frame.orientation.some((v, i) => Math.abs(v - first.orientation[i]!) > ORIENTATION_TOLERANCE)) {
      fail(
        `${label}: ImageOrientationPatient differs across slices (${first.where} and ${frame.where}): not one stack of parallel slices`,
      );
    }
  }
  if (first.pixelSpacing.some((v) => v <= 0)) fail(`${label}: PixelSpacing must be positive`);
  const o = first.orientation;
  const rowRaw: Vec3 = [o[0]!, o[1]!, o[2]!];
  const columnRaw: Vec3 = [o[3]!, o[4]!, o[5]!];
  const rowLength = length3(rowRaw);
  const columnLength = length3(columnRaw);
  if (
    Math.abs(rowLength - 1) > ORTHONORMAL_TOLERANCE ||
    Math.abs(columnLength - 1) > ORTHONORMAL_TOLERANCE ||
    Math.abs(dot(rowRaw, columnRaw)) > ORTHONORMAL_TOLERANCE
  ) {
    fail(`${label}: ImageOrientationPatient is not two orthogonal unit vectors (${first.where})`);
  }
  // Remove the rounding left in the written values (Gram–Schmidt), so that the
  // directions are orthonormal to machine precision, as volume.ts assumes.
  const row = scale(rowRaw, 1 / rowLength);
  const columnOrthogonal = subtract(columnRaw, scale(row, dot(columnRaw, row)));
  const column = scale(columnOrthogonal, 1 / length3(columnOrthogonal));
  return { row, column, normal: cross(row, column) };
}

function median(sorted: readonly number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Orders frames along the normal and checks that they form a regular stack; returns the slice spacing. */
function stackFrames(frames: RawFrame[], normal: Vec3, label: string, warnings: string[]): number {
  const along = new Map<RawFrame, number>(frames.map((f) => [f, dot(f.position, normal)]));
  frames.sort((a, b) => along.get(a)! - along.get(b)!);
  const spacings: number[] = [];
  for (let k = 1; k < frames.length; k++) {
    const spacing = along.get(frames[k]!)! - along.get(frames[k - 1]!)!;
    if (spacing < DUPLICATE_TOLERANCE_MM) {
      fail(
        `${label}: ${frames[k - 1]!.where} and ${frames[k]!.where} are at the same slice position (duplicate slices)`,
      );
    }
    spacings.push(spacing);
  }
  const sortedSpacings = [...spacings].sort((a, b) => a - b);
  const typical = median(sortedSpacings);
  spacings.forEach((spacing, index) => {
    if (Math.abs(spacing - typical) > GAP_FRACTION * typical) {
      fail(
        `${label}: gap between slices ${index + 1} and ${index + 2} in position order (${frames[index]!.where} and ${frames[index + 1]!.where}): ` +
          `${spacing.toFixed(3)} mm apart while the median spacing is ${typical.toFixed(3)} mm (missing or extra slice?)`,
      );
    }
  });
  const first = frames[0]!;
  const tolerance = Math.max(DRIFT_MIN_MM, DRIFT_FRACTION_OF_PIXEL * Math.min(...first.pixelSpacing));
  for (const frame of frames) {
    const offset = subtract(frame.position, first.position);
    const inPlane = length3(subtract(offset, scale(normal, dot(offset, normal))));
    if (inPlane > tolerance) {
      fail(
        `${label}: ImagePositionPatient of ${frame.where} is ${inPlane.toFixed(3)} mm off the line through ${first.where} along the slice normal ` +
          `(tolerance ${tolerance.toFixed(3)} mm): the slices are not stacked straight (gantry tilt?)`,
      );
    }
  }
  const spacing = (along.get(frames[frames.length - 1]!)! - along.get(first)!) / (frames.length - 1);
  const smallest = sortedSpacings[0]!;
  const largest = sortedSpacings[sortedSpacings.length - 1]!;
  if (largest - smallest > SPACING_WARNING_FRACTION * typical) {
    warnings.push(
      `${label}: slice spacing varies from ${smallest.toFixed(3)} to ${largest.toFixed(3)} mm; the volume uses their mean ${spacing.toFixed(3)} mm`,
    );
  }
  return spacing;
}

function pixelFormatOf(dataset: NaturalDataset, where: string): PixelFormat {
  const samples = optionalNumber(dataset, 'SamplesPerPixel', where) ?? 1;
  if (samples !== 1) fail(`${where}: SamplesPerPixel is ${samples}; only monochrome images are supported`);
  const photometric = text(dataset, 'PhotometricInterpretation');
  if (photometric !== undefined && photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    fail(`${where}: PhotometricInterpretation ${photometric} is not supported (monochrome only)`);
  }
  const bitsAllocated = requireCount(dataset, 'BitsAllocated', where);
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    fail(`${where}: BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`);
  }
  const bitsStored = optionalNumber(dataset, 'BitsStored', where) ?? bitsAllocated;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) {
    fail(`${where}: BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  }
  const highBit = optionalNumber(dataset, 'HighBit', where) ?? bitsStored - 1;
  if (highBit !== bitsStored - 1)
    fail(`${where}: HighBit ${highBit} is not BitsStored − 1 (unsupported bit layout)`);
  const representation = optionalNumber(dataset, 'PixelRepresentation', where) ?? 0;
  if (representation !== 0 && representation !== 1) fail(`${where}: PixelRepresentation must be 0 or 1`);
  return {
    rows: requireCount(dataset, 'Rows', where),
    columns: requireCount(dataset, 'Columns', where),
    bitsAllocated,
    bitsStored,
    signed: representation === 1,
  };
}

function pixelBuffer(dataset: NaturalDataset, where: string): ArrayBuffer {
  const value = dataset.PixelData;
  const buffer = Array.isArray(value) ? value[0] : value;
  if (!(buffer instanceof ArrayBuffer)) fail(`${where}: PixelData is missing`);
  return buffer;
}

/** Reads each file's pixels and writes its frames into their slices of `data`. */
async function decodeInto(
  series: DicomSeries,
  frames: readonly RawFrame[],
  label: string,
  data: Float32Array,
  sliceSize: number,
): Promise<void> {
  const byFile = new Map<number, { frame: RawFrame; k: number }[]>();
  frames.forEach((frame, k) => {
    const list = byFile.get(frame.fileIndex) ?? [];
    list.push({ frame, k });
    byFile.set(frame.fileIndex, list);
  });
  const first = frames[0]!;
  const fileIndices = [...byFile.keys()];
  let next = 0;
  let failed = false;
  const decodeFile = async (fileIndex: number): Promise<void> => {
    const file = series.files[fileIndex]!;
    const where = `${label}, ${file}`;
    let dataset: NaturalDataset;
    try {
      dataset = await readDicomFile(file);
    } catch (error) {
      if (error instanceof FedpetError) throw new FedpetError(error.code, `${label}: ${error.message}`);
      throw error;
    }
    const scanned = text(series.headers[fileIndex], 'SOPInstanceUID');
    if (scanned !== undefined && text(dataset, 'SOPInstanceUID') !== scanned) {
      fail(`${where}: the file changed since the tree was scanned (SOPInstanceUID differs); scan again`);
    }
    const format = pixelFormatOf(dataset, where);
    if (format.rows !== first.rows || format.columns !== first.columns) {
      fail(`${where}: Rows/Columns changed since the tree was scanned; scan again`);
    }
    const buffer = pixelBuffer(dataset, where);
    const framesInFile = optionalNumber(dataset, 'NumberOfFrames', where) ?? 1;
    const needed = frameByteLength(format) * framesInFile;
    if (buffer.byteLength < needed) {
      fail(
        `${where}: PixelData holds ${buffer.byteLength} bytes; Rows × Columns × BitsAllocated/8 × NumberOfFrames needs ${needed}`,
      );
    }
    for (const { frame, k } of byFile.get(fileIndex)!) {
      decodeFrameInto(buffer, frame.frameIndex, format, frame.slope, frame.intercept, data, k * sliceSize);
    }
  };
  // Files are taken in order and in-flight reads finish after a failure, so
  // the earliest failing file has always been read: reporting it (not the
  // first to fail in time) makes the error the same on every run.
  const failures = new Map<number, unknown>();
  const worker = async (): Promise<void> => {
    while (!failed && next < fileIndices.length) {
      const position = next++;
      try {
        await decodeFile(fileIndices[position]!);
      } catch (error) {
        failed = true;
        failures.set(position, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, fileIndices.length) }, worker));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
}

/**
 * Builds the Volume of a series (volume.ts conventions): slices ordered by
 * their position along the slice normal (row × column of
 * ImageOrientationPatient), never by InstanceNumber; slice spacing from the
 * positions, never from SliceThickness; each slice rescaled with its own
 * RescaleSlope/Intercept. Classic single-frame series and enhanced
 * multi-frame files (per-frame functional groups) are both read. A series
 * that is not one regular stack of parallel slices is an error naming the
 * series and the field.
 */
export async function loadSeriesVolume(series: DicomSeries): Promise<SeriesVolume> {
  const label = `${series.modality} series ${series.seriesInstanceUid}`;
  const warnings: string[] = [];
  const frames = collectFrames(series, label);
  const { row, column, normal } = commonPlane(frames, label);
  const sliceSpacing = stackFrames(frames, normal, label, warnings);
  const first = frames[0]!;

  const thickness = first.sliceThickness;
  if (
    thickness !== undefined &&
    Math.abs(thickness - sliceSpacing) > SPACING_WARNING_FRACTION * sliceSpacing
  ) {
    warnings.push(
      `${label}: SliceThickness ${thickness} mm differs from the spacing between slice positions ${sliceSpacing.toFixed(3)} mm; the spacing from positions is used`,
    );
  }
  const withoutRescale = frames.filter((f) => !f.rescaleGiven).length;
  if (withoutRescale > 0) {
    warnings.push(
      `${label}: RescaleSlope/RescaleIntercept absent for ${withoutRescale} of ${frames.length} slices; slope 1 and intercept 0 used there`,
    );
  }

  const sliceSize = first.rows * first.columns;
  const data = new Float32Array(sliceSize * frames.length);
  await decodeInto(series, frames, label, data, sliceSize);
  const volume: Volume = {
    dims: [first.columns, first.rows, frames.length],
    // PixelSpacing is (between rows, between columns): i steps along a row, by the column spacing.
    spacing: [first.pixelSpacing[1]!, first.pixelSpacing[0]!, sliceSpacing],
    origin: first.position,
    direction: [row, column, normal],
    data,
  };
  const frameInfos = frames.map(
    (f): FrameInfo => ({
      file: series.files[f.fileIndex]!,
      frameNumber: f.frameIndex + 1,
      imagePosition: f.position,
      rescaleSlope: f.slope,
      rescaleIntercept: f.intercept,
      ...(f.acquisitionDate !== undefined ? { acquisitionDate: f.acquisitionDate } : {}),
      ...(f.acquisitionTime !== undefined ? { acquisitionTime: f.acquisitionTime } : {}),
      ...(f.acquisitionDateTime !== undefined ? { acquisitionDateTime: f.acquisitionDateTime } : {}),
    }),
  );
  return { volume, frames: frameInfos, warnings };
}
