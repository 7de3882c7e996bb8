import dcmjs, { type NaturalDataset } from 'dcmjs';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Explicit VR little endian: what fedpet writes, and what every toolkit reads. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** fedpet's implementation class UID (2.25 = UUID-derived root, fixed for fedpet). */
export const FEDPET_IMPLEMENTATION_UID = '2.25.207152856366119826313838520211738104113';

/** A private element to add verbatim, e.g. GE's (0009,100D) or Philips' (7053,1000). */
export interface PrivateElement {
  /** Eight hex digits, e.g. "0009100D". */
  tag: string;
  vr: string;
  value: string | number;
}

/**
 * Formats a decimal string (DS) value so that it fits DICOM's 16 characters
 * without losing precision silently. dcmjs truncates longer values on write
 * with only a warning (3.0000000000000004e-7 would become "3"), see SCIENCE.md §1.
 */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`DS value must be finite, got ${value}`);
  for (let digits = 12; digits >= 1; digits--) {
    const text = Number(value.toPrecision(digits)).toString();
    if (text.length <= 16) return text;
    const exponential = value.toExponential(Math.max(0, digits - 1)).replace('e+', 'e');
    if (exponential.length <= 16) return exponential;
  }
  throw new RangeError(`DS value ${value} cannot be written in 16 characters`);
}

/**
 * Serialises a naturalized dataset (dcmjs keywords) as a DICOM Part-10 file:
 * 128-byte preamble, "DICM", file meta group, explicit VR little endian body.
 * The dataset must carry SOPClassUID and SOPInstanceUID.
 */
export function writePart10(
  dataset: NaturalDataset,
  privateElements: readonly PrivateElement[] = [],
): Uint8Array {
  const sopClass = dataset.SOPClassUID;
  const sopInstance = dataset.SOPInstanceUID;
  if (typeof sopClass !== 'string' || typeof sopInstance !== 'string') {
    throw new TypeError('writePart10: the dataset needs SOPClassUID and SOPInstanceUID strings');
  }
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: FEDPET_IMPLEMENTATION_UID,
    ImplementationVersionName: 'FEDPET_0_1',
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  for (const element of privateElements) {
    if (!/^[0-9A-F]{8}$/.test(element.tag))
      throw new TypeError(`private tag "${element.tag}" must be 8 upper-case hex digits`);
    dict.dict[element.tag] = { vr: element.vr, Value: [element.value] };
  }
  return new Uint8Array(dict.write());
}
