import type { DicomSeries } from '../dicom/scan-tree.ts';

/** The imaging one patient has in the tree, and what is wrong with it if it cannot be used. */
export interface PatientStudies {
  patientId: string;
  pet: DicomSeries | undefined;
  ct: DicomSeries | undefined;
  /** Why this patient's imaging cannot be used; empty when it can. */
  errors: string[];
  warnings: string[];
  /** Every series found, for inspection: uid, modality, file count. */
  seriesFound: { seriesInstanceUid: string; modality: string; files: number }[];
}

/** Slices in a series: one per single-frame file, NumberOfFrames per enhanced multi-frame file. */
function sliceCount(series: DicomSeries): number {
  return series.headers.reduce((sum, header) => {
    const frames = Number(header.NumberOfFrames ?? 1);
    return sum + (Number.isInteger(frames) && frames > 0 ? frames : 1);
  }, 0);
}

/**
 * Groups series by PatientID and picks the one PET and the CT that goes with
 * it. Two PET series for one patient are an error for that patient (fedpet
 * will not guess which one is the baseline scan); a CT in another frame of
 * reference than the PET cannot be fused and is left out with a warning.
 */
export function groupSeriesByPatient(series: readonly DicomSeries[]): {
  patients: PatientStudies[];
  seriesWithoutPatient: number;
} {
  const byPatient = new Map<string, DicomSeries[]>();
  let seriesWithoutPatient = 0;
  for (const one of series) {
    const id = one.patientId?.trim();
    if (!id) {
      seriesWithoutPatient++;
      continue;
    }
    const list = byPatient.get(id) ?? [];
    list.push(one);
    byPatient.set(id, list);
  }
  const patients: PatientStudies[] = [];
  for (const [patientId, list] of byPatient) {
    const pets = list.filter((s) => s.modality === 'PT');
    const cts = list.filter((s) => s.modality === 'CT');
    const errors: string[] = [];
    const warnings: string[] = [];
    if (pets.length === 0) errors.push('no PET (PT) series');
    if (pets.length > 1)
      errors.push(`${pets.length} PET series (fedpet needs exactly one baseline PET per patient)`);
    const pet = pets.length === 1 ? pets[0] : undefined;
    let ct: DicomSeries | undefined;
    if (pet) {
      const sameFrame = cts.filter(
        (c) => c.frameOfReferenceUid !== undefined && c.frameOfReferenceUid === pet.frameOfReferenceUid,
      );
      if (sameFrame.length > 1)
        warnings.push(
          `${sameFrame.length} CT series share the PET's frame of reference; using the one with most slices`,
        );
      ct = [...sameFrame].sort(
        (a, b) => sliceCount(b) - sliceCount(a) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid),
      )[0];
      if (ct === undefined && cts.length > 0)
        warnings.push('CT present but not in the PET frame of reference: PET only');
      if (cts.length === 0) warnings.push('no CT series: PET only');
    }
    patients.push({
      patientId,
      pet,
      ct,
      errors,
      warnings,
      seriesFound: list.map((s) => ({
        seriesInstanceUid: s.seriesInstanceUid,
        modality: s.modality,
        files: s.files.length,
      })),
    });
  }
  patients.sort((a, b) => a.patientId.localeCompare(b.patientId));
  return { patients, seriesWithoutPatient };
}
