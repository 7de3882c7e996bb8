import { createRng, deriveSeed } from '../../ml/random.ts';
import type { CaseMix } from './hazard-model.ts';
import type { DicomLayout } from './study-plan.ts';
import { type VendorProfile, type VendorProfileName, vendorProfile } from './vendor-profiles.ts';

/** How one synthetic hospital acquires and whom it treats. */
export interface HospitalPreset {
  hospitalId: string;
  profile: VendorProfile;
  layout: DicomLayout;
  caseMix: CaseMix;
  institutionName: string;
  stationName: string;
  /** PET in-plane matrix and pixel spacing (mm); slice thickness = slice spacing (mm). */
  petMatrix: number;
  pixelSpacingMm: number;
  sliceThicknessMm: number;
  /** CT matrix over the same field of view (finer than the PET). */
  ctMatrix: number;
  /** Injected activity per kg (MBq/kg), nominal uptake time (min), time per bed position (s). */
  dosePerKgMBq: number;
  uptakeMinutes: number;
  bedDurationS: number;
}

interface Template {
  profile: VendorProfileName;
  layout: DicomLayout;
  caseMix: CaseMix;
  petMatrix: number;
  pixelSpacingMm: number;
  sliceThicknessMm: number;
  ctInPlaneFactor: number;
  dosePerKgMBq: number;
  uptakeMinutes: number;
  bedDurationS: number;
}

/**
 * Three deliberately different sites; further hospitals cycle them with
 * jittered dose and uptake time. Fields of view 512–576 mm, 8–10 mm voxels,
 * 70–90 slices for a 1.70 m patient, CT 1.125–1.5× finer in-plane: one
 * patient's PET + CT stays around 2 MB.
 */
const TEMPLATES: readonly Template[] = [
  {
    profile: 'siemens',
    layout: 'nested',
    caseMix: 'standard',
    petMatrix: 64,
    pixelSpacingMm: 8,
    sliceThicknessMm: 8,
    ctInPlaneFactor: 1.125,
    dosePerKgMBq: 3.5,
    uptakeMinutes: 60,
    bedDurationS: 150,
  },
  {
    profile: 'ge',
    layout: 'deep',
    caseMix: 'advanced',
    petMatrix: 64,
    pixelSpacingMm: 9,
    sliceThicknessMm: 9,
    ctInPlaneFactor: 1.25,
    dosePerKgMBq: 3.0,
    uptakeMinutes: 72,
    bedDurationS: 120,
  },
  {
    profile: 'philips',
    layout: 'flat',
    caseMix: 'pdl1-selected',
    petMatrix: 56,
    pixelSpacingMm: 10,
    sliceThicknessMm: 10,
    ctInPlaneFactor: 1.5,
    dosePerKgMBq: 4.2,
    uptakeMinutes: 65,
    bedDurationS: 90,
  },
];

export interface GridOverride {
  /** PET in-plane matrix; the field of view is kept, so the spacing grows as the matrix shrinks. */
  petMatrix?: number;
  sliceThicknessMm?: number;
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** The preset of the hospital at `index` in the cohort (0-based). */
export function hospitalPreset(
  seed: number,
  hospitalId: string,
  index: number,
  options: { vendor?: VendorProfileName; grid?: GridOverride } = {},
): HospitalPreset {
  const template = TEMPLATES[index % TEMPLATES.length] as Template;
  const rng = createRng(deriveSeed(seed, hospitalId, 'preset'));
  const cycle = Math.floor(index / TEMPLATES.length);
  const dosePerKgMBq =
    cycle === 0
      ? template.dosePerKgMBq
      : Math.min(4.5, Math.max(3, template.dosePerKgMBq + 0.6 * (rng.next() - 0.5)));
  const uptakeMinutes =
    cycle === 0
      ? template.uptakeMinutes
      : Math.min(75, Math.max(55, template.uptakeMinutes + 10 * (rng.next() - 0.5)));
  const fieldOfViewMm = template.petMatrix * template.pixelSpacingMm;
  const petMatrix = options.grid?.petMatrix ?? template.petMatrix;
  const label = hospitalId.toUpperCase();
  return {
    hospitalId,
    profile: vendorProfile(options.vendor ?? template.profile),
    layout: template.layout,
    caseMix: template.caseMix,
    institutionName: `Synthetic Hospital ${label}`,
    stationName: `SYNPET${label}`.slice(0, 16),
    petMatrix,
    pixelSpacingMm: fieldOfViewMm / petMatrix,
    sliceThicknessMm: options.grid?.sliceThicknessMm ?? template.sliceThicknessMm,
    ctMatrix: Math.round(petMatrix * template.ctInPlaneFactor),
    dosePerKgMBq: round(dosePerKgMBq, 2),
    uptakeMinutes: round(uptakeMinutes, 1),
    bedDurationS: template.bedDurationS,
  };
}
