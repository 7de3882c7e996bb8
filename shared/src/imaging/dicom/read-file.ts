import { open } from 'node:fs/promises';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { type ErrorCode, ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { isNativeLittleEndian, locatePixelData, Part10FormatError, PREAMBLE_LENGTH } from './pixel-data.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

// dcmjs logs every oddity it tolerates; fedpet reports problems itself, per file.
dcmjs.log.setLevel('error');
dcmjs.log.getLogger?.('validation.dcmjs').setLevel('error');

/** A header-only read starts with this many bytes: a slice header is a few KiB. */
const FIRST_CHUNK_BYTES = 64 * 1024;

export interface ReadDicomOptions {
  /** Stop before PixelData (7FE0,0010): cheap enough to group tens of thousands of files. */
  headerOnly?: boolean;
}

export type DicomReadResult =
  | { ok: true; dataset: NaturalDataset }
  | { ok: false; code: ErrorCode; reason: string };

const NOT_DICOM = 'not a DICOM Part-10 file (no "DICM" marker at byte 128)';

function hasDicmMarker(bytes: Uint8Array): boolean {
  return (
    bytes.length >= PREAMBLE_LENGTH + 4 &&
    bytes[PREAMBLE_LENGTH] === 0x44 &&
    bytes[PREAMBLE_LENGTH + 1] === 0x49 &&
    bytes[PREAMBLE_LENGTH + 2] === 0x43 &&
    bytes[PREAMBLE_LENGTH + 3] === 0x4d
  );
}

/** Cheap check: does the file carry the Part-10 "DICM" marker? False for unreadable files too. */
export async function isDicomFile(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r');
    try {
      const probe = new Uint8Array(PREAMBLE_LENGTH + 4);
      const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
      return hasDicmMarker(probe.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

function ioFailure(error: unknown): DicomReadResult {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { ok: false, code: ErrorCodes.datasetMissing, reason: 'file not found' };
  if (code === 'EISDIR')
    return { ok: false, code: ErrorCodes.datasetInvalid, reason: 'is a folder, not a file' };
  return { ok: false, code: ErrorCodes.datasetInvalid, reason: `cannot be read (${code ?? 'I/O error'})` };
}

function invalid(reason: string): DicomReadResult {
  return { ok: false, code: ErrorCodes.datasetInvalid, reason };
}

/** Parses Part-10 bytes with dcmjs; `untilPixelData` stops at (7FE0,0010) for files this module does not walk. */
function parseWithDcmjs(bytes: Uint8Array, untilPixelData: boolean): NaturalDataset {
  // dcmjs needs an ArrayBuffer that starts at the preamble: copy the view out.
  const buffer = bytes.slice().buffer;
  const dict = DicomMessage.readFile(buffer, untilPixelData ? { untilTag: '7FE00010' } : {});
  // With untilTag dcmjs leaves a placeholder for the tag it stopped at.
  if (untilPixelData) delete dict.dict['7FE00010'];
  return DicomMetaDictionary.naturalizeDataset(dict.dict);
}

async function readPrefix(
  path: string,
  headerOnly: boolean,
): Promise<{ bytes: Uint8Array; fileSize: number }> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    if (!headerOnly) return { bytes: new Uint8Array(await handle.readFile()), fileSize };
    const bytes = new Uint8Array(Math.min(fileSize, FIRST_CHUNK_BYTES));
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
    return { bytes: bytes.subarray(0, bytesRead), fileSize };
  } finally {
    await handle.close();
  }
}

async function readRange(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    const { bytesRead } = await handle.read(bytes, 0, length, 0);
    return bytes.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a DICOM Part-10 file and reports failure as a value, for callers that
 * go through many files (the tree scan). The dataset is dcmjs's naturalized
 * form plus TransferSyntaxUID from the file meta group; with pixels, PixelData
 * is one ArrayBuffer in an array (as dcmjs gives it) and only native little
 * endian transfer syntaxes are accepted.
 */
export async function tryReadDicomFile(
  path: string,
  options: ReadDicomOptions = {},
): Promise<DicomReadResult> {
  const headerOnly = options.headerOnly === true;
  let bytes: Uint8Array;
  let fileSize: number;
  try {
    ({ bytes, fileSize } = await readPrefix(path, headerOnly));
  } catch (error) {
    return ioFailure(error);
  }
  if (!hasDicmMarker(bytes)) return invalid(NOT_DICOM);
  try {
    let layout = locatePixelData(bytes, fileSize);
    while (layout === 'need-more') {
      // A long header (enhanced multi-frame, big private blocks): read further, 8× at a time.
      bytes = await readRange(path, Math.min(fileSize, bytes.length * 8));
      layout = locatePixelData(bytes, fileSize);
    }
    const syntax = layout.transferSyntaxUid;
    let dataset: NaturalDataset;
    if (!layout.walked) {
      if (bytes.length < fileSize) bytes = await readRange(path, fileSize);
      dataset = parseWithDcmjs(bytes, headerOnly);
      if (!headerOnly && dataset.PixelData !== undefined) {
        return invalid(
          `transfer syntax ${syntax} is not supported for pixel reading (only uncompressed little endian)`,
        );
      }
    } else {
      const pixels = layout.pixelData;
      dataset = parseWithDcmjs(bytes.subarray(0, pixels?.elementOffset ?? bytes.length), false);
      if (!headerOnly && pixels) {
        if (!isNativeLittleEndian(syntax)) {
          return invalid(
            `transfer syntax ${syntax} is not supported for pixel reading (only uncompressed little endian: 1.2.840.10008.1.2, 1.2.840.10008.1.2.1)`,
          );
        }
        if (pixels.length === undefined) return invalid('native PixelData has an undefined length (corrupt)');
        dataset.PixelData = [bytes.slice(pixels.valueOffset, pixels.valueOffset + pixels.length).buffer];
        const vrMap = (dataset._vrMap ?? {}) as Record<string, string>;
        dataset._vrMap = { ...vrMap, PixelData: pixels.vr };
      }
    }
    dataset.TransferSyntaxUID = syntax;
    return { ok: true, dataset };
  } catch (error) {
    if (error instanceof Part10FormatError) return invalid(error.message);
    // dcmjs's own messages name elements and offsets, not values.
    const detail = error instanceof Error ? error.message.slice(0, 200) : 'corrupt';
    return invalid(`cannot be parsed (${detail})`);
  }
}

/**
 * Reads a DICOM Part-10 file. Throws FedpetError naming the file:
 * datasetMissing when it does not exist, datasetInvalid when it is not DICOM,
 * truncated or corrupt, or (with pixels) in a transfer syntax fedpet cannot
 * decode.
 */
export async function readDicomFile(path: string, options: ReadDicomOptions = {}): Promise<NaturalDataset> {
  const result = await tryReadDicomFile(path, options);
  if (!result.ok) throw new FedpetError(result.code, `${path}: ${result.reason}`);
  return result.dataset;
}
