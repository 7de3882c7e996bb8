/**
 * Where a Part-10 file's pixel data is, and how to turn stored pixel values
 * into modality values.
 *
 * `locatePixelData` walks the element headers of a file (PS3.10 §7 file
 * layout, PS3.5 §7.1 element encoding, §7.5 sequence nesting) without decoding
 * values. It finds the top-level (7FE0,0010) so that a header can be parsed
 * without the pixels, and it proves the file is complete: a declared length
 * that runs past the end of the file is a truncated file, which dcmjs itself
 * would read silently (it clamps binary values to the bytes present).
 */

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** Offset of "DICM" after the 128-byte preamble, and of the first meta element. */
export const PREAMBLE_LENGTH = 128;
const META_START = PREAMBLE_LENGTH + 4;
const UNDEFINED_LENGTH = 0xffffffff;
const PIXEL_DATA_TAG = 0x7fe00010;
const ITEM_TAG = 0xfffee000;
const ITEM_DELIMITATION_TAG = 0xfffee00d;
const SEQUENCE_DELIMITATION_TAG = 0xfffee0dd;
const TRANSFER_SYNTAX_TAG = 0x00020010;
/** Explicit-VR elements with a 2-byte reserved field and a 4-byte length (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** A file that is not well-formed DICOM; the message says why, never what values it held. */
export class Part10FormatError extends Error {
  override name = 'Part10FormatError';
}

/** Thrown inside the walk when the bytes read so far end before the walk could finish. */
class NeedMoreBytes {}
const NEED_MORE = new NeedMoreBytes();

export interface PixelDataLocation {
  /** Offset of the (7FE0,0010) tag: every byte before it is the header. */
  elementOffset: number;
  valueOffset: number;
  /** Declared value length; undefined for encapsulated (undefined-length) pixel data. */
  length: number | undefined;
  vr: string;
}

export interface Part10Layout {
  transferSyntaxUid: string;
  /**
   * False for big-endian and deflated files, whose body this walker does not
   * read: the caller parses those whole with dcmjs and gets no location.
   */
  walked: boolean;
  pixelData: PixelDataLocation | undefined;
}

class Cursor {
  pos: number;
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly fileSize: number,
    start: number,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Makes sure `n` more bytes can be read from `pos`. */
  need(n: number, what: string): void {
    if (this.pos + n <= this.bytes.length) return;
    if (this.bytes.length < this.fileSize) throw NEED_MORE;
    throw new Part10FormatError(`file ends inside ${what} at byte ${this.pos} (truncated)`);
  }

  atEnd(): boolean {
    if (this.pos < this.bytes.length) return false;
    if (this.bytes.length < this.fileSize) throw NEED_MORE;
    return true;
  }

  tag(): number {
    return ((this.view.getUint16(this.pos, true) << 16) | this.view.getUint16(this.pos + 2, true)) >>> 0;
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
}

function tagName(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

interface ElementHeader {
  tag: number;
  vr: string;
  length: number;
  valueOffset: number;
}

function readElementHeader(cursor: Cursor, explicit: boolean): ElementHeader {
  cursor.need(8, 'an element header');
  const tag = cursor.tag();
  const at = cursor.pos;
  if (!explicit)
    return { tag, vr: tag === PIXEL_DATA_TAG ? 'OW' : 'UN', length: cursor.u32(at + 4), valueOffset: at + 8 };
  const vr = String.fromCharCode(cursor.bytes[at + 4]!, cursor.bytes[at + 5]!);
  if (!/^[A-Z]{2}$/.test(vr)) {
    throw new Part10FormatError(
      `element ${tagName(tag)} at byte ${at} has no valid VR (corrupt or not this transfer syntax)`,
    );
  }
  if (!LONG_VRS.has(vr)) return { tag, vr, length: cursor.u16(at + 6), valueOffset: at + 8 };
  cursor.need(12, 'an element header');
  return { tag, vr, length: cursor.u32(at + 8), valueOffset: at + 12 };
}

/** Skips the items of an undefined-length value up to its sequence delimiter. */
function skipItems(cursor: Cursor, explicit: boolean, owner: number): void {
  for (;;) {
    cursor.need(8, `an item of ${tagName(owner)}`);
    const tag = cursor.tag();
    const length = cursor.u32(cursor.pos + 4);
    cursor.pos += 8;
    if (tag === SEQUENCE_DELIMITATION_TAG) return;
    if (tag !== ITEM_TAG) {
      throw new Part10FormatError(
        `expected an item in ${tagName(owner)} at byte ${cursor.pos - 8}, found ${tagName(tag)}`,
      );
    }
    if (length === UNDEFINED_LENGTH) skipElements(cursor, explicit, true);
    else {
      cursor.need(length, `an item of ${tagName(owner)}`);
      cursor.pos += length;
    }
  }
}

/**
 * Skips elements; inside an undefined-length item, up to and including its
 * item delimiter. At the top level, stops at (7FE0,0010) and returns it.
 */
function skipElements(cursor: Cursor, explicit: boolean, inItem: boolean): PixelDataLocation | undefined {
  for (;;) {
    if (!inItem && cursor.atEnd()) return undefined;
    cursor.need(4, 'an element tag');
    const tag = cursor.tag();
    if (inItem && tag === ITEM_DELIMITATION_TAG) {
      cursor.need(8, 'an item delimiter');
      cursor.pos += 8;
      return undefined;
    }
    if (tag >>> 16 === 0xfffe)
      throw new Part10FormatError(`unexpected ${tagName(tag)} at byte ${cursor.pos}`);
    const elementOffset = cursor.pos;
    const header = readElementHeader(cursor, explicit);
    if (!inItem && tag === PIXEL_DATA_TAG) {
      const length = header.length === UNDEFINED_LENGTH ? undefined : header.length;
      if (length !== undefined && header.valueOffset + length > cursor.fileSize) {
        throw new Part10FormatError(
          `PixelData declares ${length} bytes but the file ends ${cursor.fileSize - header.valueOffset} bytes after its start (truncated)`,
        );
      }
      return { elementOffset, valueOffset: header.valueOffset, length, vr: header.vr };
    }
    cursor.pos = header.valueOffset;
    if (header.length === UNDEFINED_LENGTH) {
      // An undefined-length UN holds implicit VR little endian items (PS3.5 §6.2.2).
      skipItems(cursor, explicit && header.vr !== 'UN', tag);
    } else {
      cursor.need(header.length, `the value of ${tagName(tag)}`);
      cursor.pos += header.length;
    }
  }
}

/** Reads the transfer syntax from the file meta group and returns where the body starts. */
function readMeta(cursor: Cursor): { transferSyntaxUid: string; bodyOffset: number } {
  let transferSyntaxUid: string | undefined;
  for (;;) {
    if (cursor.atEnd()) break;
    cursor.need(4, 'the file meta group');
    if (cursor.u16(cursor.pos) !== 0x0002) break;
    const header = readElementHeader(cursor, true);
    if (header.length === UNDEFINED_LENGTH)
      throw new Part10FormatError('file meta element with undefined length');
    cursor.pos = header.valueOffset;
    cursor.need(header.length, 'the file meta group');
    if (header.tag === TRANSFER_SYNTAX_TAG) {
      const raw = cursor.bytes.subarray(cursor.pos, cursor.pos + header.length);
      transferSyntaxUid = new TextDecoder('latin1').decode(raw).replace(/[\0 ]+$/, '');
    }
    cursor.pos += header.length;
  }
  if (!transferSyntaxUid) throw new Part10FormatError('file meta group has no TransferSyntaxUID (0002,0010)');
  return { transferSyntaxUid, bodyOffset: cursor.pos };
}

/**
 * Lays out a Part-10 file from its first `bytes.length` bytes (of `fileSize`).
 * Returns 'need-more' when those bytes end before the pixel data (or the end
 * of a file without pixel data); throws Part10FormatError for a malformed or
 * truncated file. The caller has checked the "DICM" marker.
 */
export function locatePixelData(bytes: Uint8Array, fileSize: number): Part10Layout | 'need-more' {
  try {
    const cursor = new Cursor(bytes, fileSize, META_START);
    const { transferSyntaxUid } = readMeta(cursor);
    if (
      transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN ||
      transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
    ) {
      return { transferSyntaxUid, walked: false, pixelData: undefined };
    }
    // Every other syntax, encapsulated ones included, encodes the dataset as explicit VR little endian.
    const explicit = transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN;
    return { transferSyntaxUid, walked: true, pixelData: skipElements(cursor, explicit, false) };
  } catch (error) {
    if (error === NEED_MORE) return 'need-more';
    throw error;
  }
}

/** Transfer syntaxes whose pixel data fedpet decodes: native (uncompressed) little endian. */
export function isNativeLittleEndian(transferSyntaxUid: string): boolean {
  return transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN || transferSyntaxUid === EXPLICIT_VR_LITTLE_ENDIAN;
}

/** How stored pixel values are laid out (PS3.3 C.7.6.3 Image Pixel module), monochrome only. */
export interface PixelFormat {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  signed: boolean;
}

export function frameByteLength(format: PixelFormat): number {
  return format.rows * format.columns * (format.bitsAllocated / 8);
}

type StoredArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

function storedView(
  buffer: ArrayBuffer,
  byteOffset: number,
  count: number,
  format: PixelFormat,
): StoredArray {
  switch (format.bitsAllocated) {
    case 8:
      return format.signed
        ? new Int8Array(buffer, byteOffset, count)
        : new Uint8Array(buffer, byteOffset, count);
    case 16:
      return format.signed
        ? new Int16Array(buffer, byteOffset, count)
        : new Uint16Array(buffer, byteOffset, count);
    case 32:
      return format.signed
        ? new Int32Array(buffer, byteOffset, count)
        : new Uint32Array(buffer, byteOffset, count);
  }
}

/**
 * Writes frame `frameIndex` of native pixel data into `target` from
 * `targetOffset`, as stored × slope + intercept (the modality LUT of PS3.3
 * C.11.1). When BitsStored < BitsAllocated the value sits in the low bits
 * (HighBit = BitsStored − 1, checked by the caller): the unused high bits are
 * masked off, and for signed data the sign bit is extended.
 */
export function decodeFrameInto(
  pixelData: ArrayBuffer,
  frameIndex: number,
  format: PixelFormat,
  slope: number,
  intercept: number,
  target: Float32Array,
  targetOffset: number,
): void {
  const count = format.rows * format.columns;
  const byteOffset = frameIndex * frameByteLength(format);
  if (byteOffset + count * (format.bitsAllocated / 8) > pixelData.byteLength) {
    throw new RangeError(`frame ${frameIndex + 1} lies beyond the end of the pixel data`);
  }
  const needsMask = format.bitsStored < format.bitsAllocated;
  // Read through an unsigned view when masking, so that the high bits are the raw ones.
  const source = storedView(pixelData, byteOffset, count, needsMask ? { ...format, signed: false } : format);
  if (!needsMask) {
    for (let p = 0; p < count; p++) target[targetOffset + p] = source[p]! * slope + intercept;
    return;
  }
  if (format.signed) {
    const shift = 32 - format.bitsStored;
    for (let p = 0; p < count; p++)
      target[targetOffset + p] = ((source[p]! << shift) >> shift) * slope + intercept;
  } else {
    const mask = 2 ** format.bitsStored - 1;
    for (let p = 0; p < count; p++) target[targetOffset + p] = (source[p]! & mask) * slope + intercept;
  }
}
