import { formatDecimalString, type PrivateElement } from '../dicom/part10-writer.ts';
import type { VendorProfile } from './vendor-profiles.ts';

/** The dose and times exactly as they will be written in the header. */
export interface DoseAndTimes {
  weightKg: number;
  injectedDoseBq: number;
  halfLifeS: number;
  /** Whole epoch seconds (see dicom-time.ts). */
  injectionTime: number;
  scanStart: number;
}

export interface PetScaling {
  /**
   * SUVbw per rescaled pixel unit (stored × slope + intercept): the factor of
   * SCIENCE.md §1 a reader must recover from the header.
   */
  suvPerUnit: number;
  /** Private elements carrying the scaling (Philips), written verbatim. */
  privateElements: PrivateElement[];
}

/** Injected activity decayed over `seconds`: A·2^(−t/T½). */
export function decayedDoseBq(doseBq: number, halfLifeS: number, seconds: number): number {
  return doseBq * 2 ** (-seconds / halfLifeS);
}

function written(value: number): number {
  return Number(formatDecimalString(value));
}

/**
 * How pixel values relate to SUVbw for a vendor profile, computed from the
 * values as they are written (DS-formatted weight and dose, whole-second
 * times) so that a reader following SCIENCE.md §1 recovers exactly this
 * factor:
 *
 * - BQML, START: pixels are Bq/mL decay-corrected to the scan start;
 *   factor = weight·1000 / (dose · 2^(−(scan − injection)/T½)).
 * - BQML, ADMIN: decay-corrected to the injection; factor = weight·1000 / dose.
 * - CNTS (Philips): pixels are counts; Bq/mL = counts × (7053,1009), and the
 *   SUV factor (7053,1000) = (7053,1009) × the BQML factor. The factor is the
 *   DS-formatted (7053,1000) itself, as readers pass it through.
 */
export function petScaling(profile: VendorProfile, dose: DoseAndTimes): PetScaling {
  const weightGrams = written(dose.weightKg) * 1000;
  const doseBq = written(dose.injectedDoseBq);
  const halfLife = written(dose.halfLifeS);
  const elapsed = dose.scanStart - dose.injectionTime;
  if (!Number.isInteger(elapsed) || elapsed < 0) {
    throw new RangeError('scan start must be a whole number of seconds after the injection');
  }
  const referenceDose =
    profile.decayCorrection === 'ADMIN' ? doseBq : decayedDoseBq(doseBq, halfLife, elapsed);
  const bqmlFactor = weightGrams / referenceDose;
  if (profile.units === 'BQML') return { suvPerUnit: bqmlFactor, privateElements: [] };

  const activityText = formatDecimalString(profile.activityPerCountBqml);
  const suvText = formatDecimalString(Number(activityText) * bqmlFactor);
  return {
    suvPerUnit: Number(suvText),
    privateElements: [
      { tag: '70530010', vr: 'LO', value: 'Philips PET Private Group' },
      { tag: '70531000', vr: 'DS', value: suvText },
      { tag: '70531009', vr: 'DS', value: activityText },
    ],
  };
}
