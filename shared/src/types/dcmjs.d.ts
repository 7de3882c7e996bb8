// Minimal typings for the parts of dcmjs (which ships none) that fedpet uses.
declare module 'dcmjs' {
  /** A naturalized DICOM dataset: keywords as keys, unknown/private tags as 8-hex-digit keys. */
  export type NaturalDataset = Record<string, unknown>;
  /** A denaturalized dataset: 8-hex-digit tag → element. */
  export type DenaturalDataset = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string }>;

  interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  class DicomDict {
    constructor(meta: DenaturalDataset);
    meta: DenaturalDataset;
    dict: DenaturalDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }

  const data: {
    DicomDict: typeof DicomDict;
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dataset: DenaturalDataset): NaturalDataset;
      denaturalizeDataset(dataset: NaturalDataset): DenaturalDataset;
      uid(): string;
    };
  };

  const log: {
    setLevel(level: string): void;
    getLogger?(name: string): { setLevel(level: string): void };
  };

  const dcmjs: { data: typeof data; log: typeof log };
  export default dcmjs;
}
