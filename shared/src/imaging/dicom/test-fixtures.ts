/**
 * Tiny synthetic PT/CT DICOM series for tests (never for production data):
 * single-frame files or one enhanced multi-frame file, written with
 * writePart10 into a temporary folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import type { Vec3 } from '../volume.ts';
import { formatDecimalString, writePart10 } from './part10-writer.ts';

const uid = (): string => dcmjs.data.DicomMetaDictionary.uid();

const SOP_CLASS = {
  PT: '1.2.840.10008.5.1.4.1.1.128',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  enhancedPT: '1.2.840.10008.5.1.4.1.1.130',
  enhancedCT: '1.2.840.10008.5.1.4.1.1.2.1',
  other: '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture
} as const;

export const AXIAL: readonly number[] = [1, 0, 0, 0, 1, 0];

export interface TestSeriesSpec {
  modality?: string;
  rows: number;
  columns: number;
  /** ImagePositionPatient of each slice, in the order the files are written. */
  positions: readonly Vec3[];
  /** ImageOrientationPatient (six numbers); axial by default. */
  orientation?: readonly number[];
  /** PixelSpacing: [between rows, between columns] in mm; [2, 2] by default. */
  pixelSpacing?: readonly [number, number];
  /** Stored values of each slice, row by row. */
  pixels: readonly ArrayLike<number>[];
  slopes?: readonly number[];
  intercepts?: readonly number[];
  bitsAllocated?: 8 | 16 | 32;
  signed?: boolean;
  /** One enhanced multi-frame file instead of one file per slice. */
  multiframe?: boolean;
  /** Multi-frame only: PlaneOrientationSequence per frame instead of shared. */
  perFrameOrientation?: boolean;
  instanceNumbers?: readonly number[];
  /** File names (relative to the folder, may contain sub-folders); slice-NNN.dcm by default. */
  fileNames?: readonly string[];
  sliceThickness?: number;
  /** AcquisitionTime of each slice (TM), or FrameAcquisitionDateTime time part for multi-frame. */
  acquisitionTimes?: readonly string[];
  seriesInstanceUid?: string;
  studyInstanceUid?: string;
  frameOfReferenceUid?: string;
  patientId?: string;
  /** Merged into every file's dataset last (e.g. to delete or break an attribute). */
  extra?: NaturalDataset;
}

export interface WrittenSeries {
  seriesInstanceUid: string;
  files: string[];
}

const ds = (value: number): string => formatDecimalString(value);
const dsList = (values: readonly number[]): string[] => values.map(ds);

function storedBuffer(values: ArrayLike<number>, bitsAllocated: 8 | 16 | 32, signed: boolean): ArrayBuffer {
  const count = values.length;
  // Pixel data must have even length (PS3.5 §7.1.1): pad 8-bit data with one byte when needed.
  const byteLength = count * (bitsAllocated / 8) + (bitsAllocated === 8 && count % 2 === 1 ? 1 : 0);
  const buffer = new ArrayBuffer(byteLength);
  const view =
    bitsAllocated === 8
      ? signed
        ? new Int8Array(buffer, 0, count)
        : new Uint8Array(buffer, 0, count)
      : bitsAllocated === 16
        ? signed
          ? new Int16Array(buffer)
          : new Uint16Array(buffer)
        : signed
          ? new Int32Array(buffer)
          : new Uint32Array(buffer);
  for (let i = 0; i < count; i++) view[i] = values[i]!;
  return buffer;
}

function concat(buffers: readonly ArrayBuffer[]): ArrayBuffer {
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out.buffer;
}

/** The datasets a spec describes (one per file), before writing. */
export function testSeriesDatasets(spec: TestSeriesSpec): NaturalDataset[] {
  const count = spec.positions.length;
  if (spec.pixels.length !== count) throw new RangeError('one pixel array per position');
  const modality = spec.modality ?? 'PT';
  const bitsAllocated = spec.bitsAllocated ?? 16;
  const signed = spec.signed ?? false;
  const orientation = spec.orientation ?? AXIAL;
  const pixelSpacing = spec.pixelSpacing ?? [2, 2];
  const slope = (i: number): number => spec.slopes?.[i] ?? 1;
  const intercept = (i: number): number => spec.intercepts?.[i] ?? 0;
  const common: NaturalDataset = {
    PatientID: spec.patientId ?? 'TEST-PATIENT',
    PatientName: 'Test^Patient',
    StudyInstanceUID: spec.studyInstanceUid ?? uid(),
    SeriesInstanceUID: spec.seriesInstanceUid ?? uid(),
    FrameOfReferenceUID: spec.frameOfReferenceUid ?? uid(),
    Modality: modality,
    SeriesDate: '20240131',
    SeriesTime: '101500',
    Rows: spec.rows,
    Columns: spec.columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: bitsAllocated,
    BitsStored: bitsAllocated,
    HighBit: bitsAllocated - 1,
    PixelRepresentation: signed ? 1 : 0,
    _vrMap: { PixelData: bitsAllocated === 8 ? 'OB' : 'OW' },
  };
  const time = (i: number): string => spec.acquisitionTimes?.[i] ?? '101500';
  if (!spec.multiframe) {
    return spec.positions.map((position, i) => ({
      ...common,
      SOPClassUID: modality === 'PT' ? SOP_CLASS.PT : modality === 'CT' ? SOP_CLASS.CT : SOP_CLASS.other,
      SOPInstanceUID: uid(),
      InstanceNumber: spec.instanceNumbers?.[i] ?? i + 1,
      ImagePositionPatient: dsList(position),
      ImageOrientationPatient: dsList(orientation),
      PixelSpacing: dsList(pixelSpacing),
      ...(spec.sliceThickness !== undefined ? { SliceThickness: ds(spec.sliceThickness) } : {}),
      RescaleSlope: ds(slope(i)),
      RescaleIntercept: ds(intercept(i)),
      AcquisitionDate: '20240131',
      AcquisitionTime: time(i),
      PixelData: storedBuffer(spec.pixels[i]!, bitsAllocated, signed),
      ...spec.extra,
    }));
  }
  const planeOrientation = [{ ImageOrientationPatient: dsList(orientation) }];
  const measures = [
    {
      PixelSpacing: dsList(pixelSpacing),
      ...(spec.sliceThickness !== undefined ? { SliceThickness: ds(spec.sliceThickness) } : {}),
    },
  ];
  return [
    {
      ...common,
      SOPClassUID: modality === 'CT' ? SOP_CLASS.enhancedCT : SOP_CLASS.enhancedPT,
      SOPInstanceUID: uid(),
      InstanceNumber: 1,
      NumberOfFrames: count,
      SharedFunctionalGroupsSequence: [
        {
          PixelMeasuresSequence: measures,
          ...(spec.perFrameOrientation ? {} : { PlaneOrientationSequence: planeOrientation }),
        },
      ],
      PerFrameFunctionalGroupsSequence: spec.positions.map((position, i) => ({
        PlanePositionSequence: [{ ImagePositionPatient: dsList(position) }],
        PixelValueTransformationSequence: [
          { RescaleSlope: ds(slope(i)), RescaleIntercept: ds(intercept(i)), RescaleType: 'US' },
        ],
        FrameContentSequence: [
          { FrameAcquisitionDateTime: `20240131${time(i)}`, InStackPositionNumber: i + 1 },
        ],
        ...(spec.perFrameOrientation ? { PlaneOrientationSequence: planeOrientation } : {}),
      })),
      PixelData: concat(spec.pixels.map((p) => storedBuffer(p, bitsAllocated, signed))),
      ...spec.extra,
    },
  ];
}

/** Writes a spec's files under `dir` and returns their paths (in spec order). */
export async function writeTestSeries(dir: string, spec: TestSeriesSpec): Promise<WrittenSeries> {
  const datasets = testSeriesDatasets(spec);
  const files: string[] = [];
  for (const [i, dataset] of datasets.entries()) {
    const name = spec.fileNames?.[i] ?? `slice-${String(i + 1).padStart(3, '0')}.dcm`;
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, writePart10(dataset));
    files.push(path);
  }
  return { seriesInstanceUid: datasets[0]!.SeriesInstanceUID as string, files };
}

/** Positions of an axial stack: `count` slices from `start`, `spacing` mm apart along +z. */
export function axialPositions(count: number, spacing: number, start: Vec3 = [-10, -20, 30]): Vec3[] {
  return Array.from({ length: count }, (_, k): Vec3 => [start[0], start[1], start[2] + k * spacing]);
}

/** Stored values that identify their voxel: 100·slice + 10·row + column (fits 16 bits for small grids). */
export function labelledPixels(rows: number, columns: number, slices: number): Int32Array[] {
  return Array.from({ length: slices }, (_, k) => {
    const values = new Int32Array(rows * columns);
    for (let j = 0; j < rows; j++)
      for (let i = 0; i < columns; i++) values[j * columns + i] = 100 * k + 10 * j + i;
    return values;
  });
}

export async function makeTestDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fedpet-dicom-'));
}

export async function removeTestDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Encodes a dataset in another transfer syntax than writePart10's explicit VR
 * little endian (dcmjs writes the body in the syntax the meta group names),
 * to test readers on implicit VR, big endian or compressed-syntax files.
 */
export function encodeWithTransferSyntax(dataset: NaturalDataset, transferSyntaxUid: string): Uint8Array {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: '2.25.1',
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
