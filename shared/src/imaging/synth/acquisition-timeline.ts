import type { VendorProfile } from './vendor-profiles.ts';

/** When things happened for one patient (whole epoch seconds, see dicom-time.ts). */
export interface AcquisitionTimes {
  injectionTime: number;
  /** CT start (the study starts with the CT). */
  ctStart: number;
  /** Start of the first PET bed position: the scan time of SCIENCE.md §1. */
  scanStart: number;
  /** Duration of one bed position (s). */
  bedDurationS: number;
  /** When a re-processed series was created (profiles with seriesTime 'reprocessed'). */
  reprocessedAt: number;
}

export interface SliceTiming {
  /** Position of the slice's bed in acquisition order (0 = first). */
  bed: number;
  /** Start of the slice's bed position (AcquisitionDate/Time). */
  acquisitionStart: number;
  /** (0054,1300): ms from the decay-correction reference to the frame's mean-count-rate time. */
  frameReferenceTimeMs: number;
  /** (0054,1321): decay factor applied to this frame. */
  decayFactor: number;
}

/**
 * Bed position and timing of each PET slice. Slices are assigned to beds by
 * their distance from the end where the acquisition starts (one bed per
 * bedStepMm of table travel). For a frame starting at t_s with duration D,
 * decay constant λ = ln 2 / T½ and reference time t_ref (the scan start for
 * DecayCorrection START, the injection for ADMIN), the mean-count-rate time
 * inside the frame is t_avg = ln(λD / (1 − e^(−λD))) / λ after t_s, and
 * DecayFactor = e^(λ(t_s − t_ref)) · λD / (1 − e^(−λD)) (DICOM PS3.3
 * C.8.9.4.1.5 and QIBA's decay-correction definitions).
 */
export function sliceTimings(
  profile: VendorProfile,
  times: AcquisitionTimes,
  halfLifeS: number,
  sliceZ: readonly number[],
): SliceTiming[] {
  if (sliceZ.length === 0) return [];
  const top = Math.max(...sliceZ);
  const bottom = Math.min(...sliceZ);
  const lambda = Math.LN2 / halfLifeS;
  const duration = times.bedDurationS;
  const withinFrame = lambda * duration;
  const averagingFactor = withinFrame / (1 - Math.exp(-withinFrame));
  const tAverage = Math.log(averagingFactor) / lambda;
  const reference = profile.decayCorrection === 'ADMIN' ? times.injectionTime : times.scanStart;
  return sliceZ.map((z) => {
    const travelled = profile.bedOrder === 'craniocaudal' ? top - z : z - bottom;
    const bed = Math.floor(travelled / profile.bedStepMm + 1e-9);
    const acquisitionStart = times.scanStart + bed * duration;
    return {
      bed,
      acquisitionStart,
      frameReferenceTimeMs: (acquisitionStart - reference + tAverage) * 1000,
      decayFactor: Math.exp(lambda * (acquisitionStart - reference)) * averagingFactor,
    };
  });
}

/** End of the last bed position. */
export function scanEnd(times: AcquisitionTimes, timings: readonly SliceTiming[]): number {
  const beds = timings.reduce((most, t) => Math.max(most, t.bed + 1), 0);
  return times.scanStart + beds * times.bedDurationS;
}
