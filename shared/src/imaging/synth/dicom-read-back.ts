import dcmjs, { type NaturalDataset } from 'dcmjs';

/**
 * Reads a synthetic Part-10 file back with dcmjs, for the generator's own
 * tests (deliberately not the project's DICOM reader, which is developed
 * separately and must not be needed to check the generator).
 */
export function readBack(bytes: Uint8Array): NaturalDataset {
  dcmjs.log.setLevel('error');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = dcmjs.data.DicomMessage.readFile(buffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
}

/** The first (only) frame's pixels of a read-back dataset, typed by PixelRepresentation. */
export function framePixels(dataset: NaturalDataset): Uint16Array | Int16Array {
  const frames = dataset.PixelData;
  const frame = Array.isArray(frames) ? frames[0] : undefined;
  if (!(frame instanceof ArrayBuffer)) throw new TypeError('dataset has no PixelData frame');
  return dataset.PixelRepresentation === 1 ? new Int16Array(frame) : new Uint16Array(frame);
}
