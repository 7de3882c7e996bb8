import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calculateSUVScalingFactors, type InstanceMetadata } from '@cornerstonejs/calculate-suv';
import type { NaturalDataset } from 'dcmjs';
import { framePixels, readBack } from './dicom-read-back.ts';
import { epochOfDay } from './dicom-time.ts';
import { CT_IMAGE_STORAGE, PET_IMAGE_STORAGE, writePetCtStudy } from './pet-ct-writer.ts';
import { buildPhantom } from './phantom.ts';
import type { DicomLayout, StudyPlan } from './study-plan.ts';
import { F18_HALF_LIFE_S, type VendorProfileName, vendorProfile } from './vendor-profiles.ts';

const phantom = buildPhantom({
  seed: 5,
  weightKg: 81.3,
  heightM: 1.78,
  targetMtvMl: 50,
  matrix: 32,
  pixelSpacingMm: 17,
  sliceThicknessMm: 16,
  ctMatrix: 48,
  topZMm: -80,
});

const injectionTime = epochOfDay(2022, 5, 17) + 9 * 3600 + 12 * 60 + 5;

function planFor(profile: VendorProfileName, layout: DicomLayout = 'nested'): StudyPlan {
  const scanStart = injectionTime + 3913;
  return {
    seed: 99,
    hospitalId: 'h7',
    patientIndex: 3,
    patientId: 'SYN-H7-0003',
    profile: vendorProfile(profile),
    layout,
    institutionName: 'Synthetic Hospital H7',
    stationName: 'SYNPETH7',
    sex: 'M',
    ageYears: 67,
    weightKg: 81.3,
    heightM: 1.78,
    injectedDoseBq: 287.4e6,
    halfLifeS: F18_HALF_LIFE_S,
    times: {
      injectionTime,
      scanStart,
      ctStart: scanStart - 130,
      bedDurationS: 150,
      reprocessedAt: scanStart + 3 * 3600,
    },
  };
}

// ---- An independent reading of SCIENCE.md §1, from the header tags only ----

function seconds(da: unknown, tm: unknown): number {
  const d = String(da).trim();
  const t = String(tm).trim();
  const day = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))) / 1000;
  return day + Number(t.slice(0, 2)) * 3600 + Number(t.slice(2, 4)) * 60 + Number(t.slice(4));
}

function dtSeconds(dt: unknown): number {
  const text = String(dt).trim();
  return seconds(text.slice(0, 8), text.slice(8));
}

function suvFactorFromHeaders(headers: readonly NaturalDataset[]): number {
  const first = headers[0] as NaturalDataset;
  const corrected = first.CorrectedImage as string[];
  assert.ok(corrected.includes('ATTN') && corrected.includes('DECY'));
  const units = first.Units;
  if (units === 'GML') return 1;
  if (units === 'CNTS' && first['70531000'] !== undefined) return Number(first['70531000']);
  const item = (first.RadiopharmaceuticalInformationSequence as NaturalDataset[])[0] as NaturalDataset;
  const series = seconds(first.SeriesDate, first.SeriesTime);
  const earliest = Math.min(...headers.map((h) => seconds(h.AcquisitionDate, h.AcquisitionTime)));
  let scan = series;
  if (series > earliest) scan = first['0009100D'] !== undefined ? dtSeconds(first['0009100D']) : earliest;
  let injection =
    item.RadiopharmaceuticalStartDateTime !== undefined
      ? dtSeconds(item.RadiopharmaceuticalStartDateTime)
      : seconds(first.SeriesDate, item.RadiopharmaceuticalStartTime);
  if (scan - injection < 0) injection -= 86_400;
  const dose = Number(item.RadionuclideTotalDose);
  const decayed =
    first.DecayCorrection === 'ADMIN'
      ? dose
      : dose * 2 ** (-(scan - injection) / Number(item.RadionuclideHalfLife));
  const bqmlFactor = (Number(first.PatientWeight) * 1000) / decayed;
  return units === 'CNTS' ? Number(first['70531009']) * bqmlFactor : bqmlFactor;
}

/** What @cornerstonejs/calculate-suv (a third implementation) makes of the same headers. */
function cornerstoneFactor(headers: readonly NaturalDataset[]): number {
  const instances = headers.map((h) => {
    const item = (h.RadiopharmaceuticalInformationSequence as NaturalDataset[])[0] as NaturalDataset;
    const metadata: InstanceMetadata = {
      CorrectedImage: h.CorrectedImage as string[],
      Units: String(h.Units),
      RadionuclideHalfLife: Number(item.RadionuclideHalfLife),
      RadionuclideTotalDose: Number(item.RadionuclideTotalDose),
      DecayCorrection: String(h.DecayCorrection),
      PatientWeight: Number(h.PatientWeight),
      SeriesDate: String(h.SeriesDate),
      SeriesTime: String(h.SeriesTime),
      AcquisitionDate: String(h.AcquisitionDate),
      AcquisitionTime: String(h.AcquisitionTime),
      RadiopharmaceuticalStartTime: String(item.RadiopharmaceuticalStartTime),
    };
    if (item.RadiopharmaceuticalStartDateTime !== undefined) {
      metadata.RadiopharmaceuticalStartDateTime = String(item.RadiopharmaceuticalStartDateTime);
    }
    if (h['0009100D'] !== undefined) metadata.GEPrivatePostInjectionDateTime = String(h['0009100D']);
    if (h['70531000'] !== undefined) {
      metadata.PhilipsPETPrivateGroup = {
        SUVScaleFactor: Number(h['70531000']),
        ActivityConcentrationScaleFactor: Number(h['70531009']),
      };
    }
    return metadata;
  });
  const originalWarn = console.warn;
  console.warn = () => {}; // it warns about the SUVlbm inputs we do not pass
  try {
    return calculateSUVScalingFactors(instances)[0]?.suvbw ?? Number.NaN;
  } finally {
    console.warn = originalWarn;
  }
}

function readSeries(profile: VendorProfileName, modality: 'PT' | 'CT', layout?: DicomLayout) {
  const files = writePetCtStudy(planFor(profile, layout), phantom).filter((f) => f.modality === modality);
  return files.map((f) => ({ path: f.relativePath, dataset: readBack(f.bytes) }));
}

/** Slice index k of the volume from a dataset's ImagePositionPatient. */
function sliceIndex(dataset: NaturalDataset, origin: number, thickness: number): number {
  const z = (dataset.ImagePositionPatient as number[])[2] ?? Number.NaN;
  const k = Math.round((z - origin) / thickness);
  assert.ok(Math.abs(z - origin - k * thickness) < 1e-6);
  return k;
}

for (const profile of ['siemens', 'ge', 'philips', 'siemens-admin'] as const) {
  test(`${profile}: stored × slope + intercept, times the header's SUV factor, gives back the phantom SUV`, () => {
    const series = readSeries(profile, 'PT');
    const headers = series.map((s) => s.dataset);
    assert.equal(headers.length, phantom.pet.dims[2]);
    const factor = suvFactorFromHeaders(headers);
    if (profile !== 'siemens-admin') {
      // DecayCorrection ADMIN is outside calculate-suv's scope (it always decays to the scan start).
      assert.ok(Math.abs(cornerstoneFactor(headers) / factor - 1) < 1e-9, 'calculate-suv agrees');
    }
    const [nx, ny] = phantom.pet.dims;
    const seen = new Set<number>();
    let worst = 0;
    let hottest = 0;
    for (const dataset of headers) {
      const k = sliceIndex(dataset, phantom.pet.origin[2], phantom.pet.spacing[2]);
      seen.add(k);
      const slope = Number(dataset.RescaleSlope);
      const intercept = Number(dataset.RescaleIntercept);
      const pixels = framePixels(dataset);
      assert.ok(pixels instanceof Uint16Array);
      const halfStep = 0.5 * slope * factor;
      for (let n = 0; n < nx * ny; n++) {
        const truth = phantom.pet.data[k * nx * ny + n] ?? Number.NaN;
        const suv = ((pixels[n] ?? 0) * slope + intercept) * factor;
        const error = Math.abs(suv - truth);
        assert.ok(error <= halfStep * (1 + 1e-6) + 1e-9, `slice ${k} pixel ${n}: ${suv} vs ${truth}`);
        worst = Math.max(worst, error);
        hottest = Math.max(hottest, suv);
      }
    }
    assert.equal(seen.size, phantom.pet.dims[2], 'every slice written once');
    assert.ok(hottest > 5, 'the series holds real uptake (brain, bladder, tumours)');
    assert.ok(worst < 0.01, `quantisation error ${worst} SUV`);
  });
}

test('siemens: SeriesTime is the scan start, the earliest AcquisitionTime; one slope', () => {
  const headers = readSeries('siemens', 'PT').map((s) => s.dataset);
  const first = headers[0] as NaturalDataset;
  const earliest = Math.min(...headers.map((h) => seconds(h.AcquisitionDate, h.AcquisitionTime)));
  assert.equal(seconds(first.SeriesDate, first.SeriesTime), earliest);
  assert.equal(earliest, planFor('siemens').times.scanStart);
  assert.equal(new Set(headers.map((h) => h.RescaleSlope)).size, 1);
  assert.equal(first.Units, 'BQML');
  assert.equal(first.DecayCorrection, 'START');
  assert.equal(first.Manufacturer, 'SIEMENS');
  const item = (first.RadiopharmaceuticalInformationSequence as NaturalDataset[])[0] as NaturalDataset;
  assert.equal(item.RadionuclideHalfLife, 6586.2);
  assert.equal(item.RadionuclideTotalDose, 287.4e6);
  assert.equal(item.RadiopharmaceuticalStartTime, '091205');
  assert.equal(item.RadiopharmaceuticalStartDateTime, '20220517091205');
  // Several bed positions, each with its own acquisition time and decay factor.
  assert.ok(new Set(headers.map((h) => h.AcquisitionTime)).size > 2);
  assert.ok(headers.every((h) => Number(h.DecayFactor) >= 1 && Number(h.FrameReferenceTime) > 0));
});

test('ge: a re-processed series whose private scan time, not SeriesTime, gives the SUV; slopes differ per slice', () => {
  const headers = readSeries('ge', 'PT').map((s) => s.dataset);
  const first = headers[0] as NaturalDataset;
  const earliest = Math.min(...headers.map((h) => seconds(h.AcquisitionDate, h.AcquisitionTime)));
  assert.ok(seconds(first.SeriesDate, first.SeriesTime) > earliest + 3600);
  assert.equal(first['00090010'], 'GEMS_PETD_01');
  assert.equal(dtSeconds(first['0009100D']), planFor('ge').times.scanStart);
  assert.ok(new Set(headers.map((h) => h.RescaleSlope)).size > headers.length / 2);
  const item = (first.RadiopharmaceuticalInformationSequence as NaturalDataset[])[0] as NaturalDataset;
  assert.equal(item.RadiopharmaceuticalStartDateTime, undefined);
  // The trap is real: a reader that trusted SeriesTime would be off by the decay over hours.
  const trusting =
    (Number(first.PatientWeight) * 1000) /
    (Number(item.RadionuclideTotalDose) *
      2 **
        (-(
          seconds(first.SeriesDate, first.SeriesTime) -
          seconds(first.SeriesDate, item.RadiopharmaceuticalStartTime)
        ) /
          6586.2));
  assert.ok(trusting / suvFactorFromHeaders(headers) > 2);
});

test('philips: counts with the private scale factors under their creator', () => {
  const headers = readSeries('philips', 'PT').map((s) => s.dataset);
  const first = headers[0] as NaturalDataset;
  assert.equal(first.Units, 'CNTS');
  assert.equal(first['70530010'], 'Philips PET Private Group');
  const withoutSuvScale = headers.map(({ '70531000': _dropped, ...rest }) => rest);
  // Through (7053,1009) and the BQML rules the factor is the same to DS precision.
  assert.ok(Math.abs(suvFactorFromHeaders(withoutSuvScale) / suvFactorFromHeaders(headers) - 1) < 1e-9);
});

test('siemens-admin: decay-corrected to the injection, factor = weight / dose', () => {
  const headers = readSeries('siemens-admin', 'PT').map((s) => s.dataset);
  assert.equal(headers[0]?.DecayCorrection, 'ADMIN');
  assert.ok(Math.abs(suvFactorFromHeaders(headers) / ((81.3 * 1000) / 287.4e6) - 1) < 1e-12);
});

test('CT: signed HU through the intercept, finer grid, same study and frame of reference as the PET', () => {
  for (const profile of ['siemens', 'philips'] as const) {
    const ct = readSeries(profile, 'CT').map((s) => s.dataset);
    const pt = readSeries(profile, 'PT').map((s) => s.dataset);
    const [nx, ny] = phantom.ct.dims;
    for (const dataset of ct) {
      assert.equal(dataset.SOPClassUID, CT_IMAGE_STORAGE);
      assert.equal(dataset.PixelRepresentation, 1);
      assert.equal(dataset.Rows, 48);
      assert.equal(dataset.RescaleIntercept, vendorProfile(profile).ctRescaleIntercept);
      const k = sliceIndex(dataset, phantom.ct.origin[2], phantom.ct.spacing[2]);
      const pixels = framePixels(dataset);
      assert.ok(pixels instanceof Int16Array);
      for (let n = 0; n < nx * ny; n += 7) {
        const hu: number = (pixels[n] ?? 0) * Number(dataset.RescaleSlope) + Number(dataset.RescaleIntercept);
        assert.equal(hu, Math.round(phantom.ct.data[k * nx * ny + n] ?? Number.NaN));
      }
    }
    const one = (values: unknown[]) => {
      assert.equal(new Set(values).size, 1);
      return values[0];
    };
    assert.equal(one(ct.map((d) => d.FrameOfReferenceUID)), one(pt.map((d) => d.FrameOfReferenceUID)));
    assert.equal(one(ct.map((d) => d.StudyInstanceUID)), one(pt.map((d) => d.StudyInstanceUID)));
    assert.notEqual(one(ct.map((d) => d.SeriesInstanceUID)), one(pt.map((d) => d.SeriesInstanceUID)));
    assert.equal(one(pt.map((d) => d.SOPClassUID)), PET_IMAGE_STORAGE);
    const all = [...ct, ...pt];
    assert.equal(new Set(all.map((d) => d.SOPInstanceUID)).size, all.length);
    for (const d of all) {
      assert.equal(d.PatientID, 'SYN-H7-0003');
      assert.deepEqual(d.PatientName, [{ Alphabetic: 'SYN-H7-0003' }]);
      assert.match(String(d.SOPInstanceUID), /^2\.25\.[1-9][0-9]*$/);
    }
    const spacing = (d: NaturalDataset | undefined) => Number((d?.PixelSpacing as number[] | undefined)?.[0]);
    assert.ok(spacing(ct[0]) < spacing(pt[0]), 'the CT is finer in-plane');
  }
});

test('folder layouts: nested, deep and flat (PET numbered after the CT)', () => {
  assert.match(
    readSeries('siemens', 'PT', 'nested')[0]?.path ?? '',
    /^SYN-H7-0003\/ST20220517\/PT_4\/IM0001\.dcm$/,
  );
  assert.match(
    readSeries('ge', 'CT', 'deep')[0]?.path ?? '',
    /^SYN-H7-0003\/ST20220517\/DICOM\/CT_2\/IM0001\.dcm$/,
  );
  const flat = writePetCtStudy(planFor('philips', 'flat'), phantom).map((f) => f.relativePath);
  assert.equal(new Set(flat).size, flat.length);
  assert.ok(flat.every((p) => /^SYN-H7-0003\/IM\d{4}\.dcm$/.test(p)));
});

test('the same plan gives byte-identical files', () => {
  const a = writePetCtStudy(planFor('ge'), phantom);
  const b = writePetCtStudy(planFor('ge'), phantom);
  assert.equal(a.length, b.length);
  for (const [i, file] of a.entries()) assert.deepEqual(file.bytes, b[i]?.bytes);
});
