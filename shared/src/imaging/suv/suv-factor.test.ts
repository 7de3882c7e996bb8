import assert from 'node:assert/strict';
import { test } from 'node:test';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { writePart10 } from '../dicom/part10-writer.ts';
import { computeSuvFactor } from './suv-factor.ts';

dcmjs.log.setLevel('error');

const F18_HALF_LIFE = 6586.2;
const SOURCE = 'series-under-test';

/** A legacy PET instance header as dcmjs naturalizes it; `radio` overrides the radiopharmaceutical item. */
function pet(overrides: NaturalDataset = {}, radio: NaturalDataset = {}): NaturalDataset {
  return {
    Modality: 'PT',
    Units: 'BQML',
    CorrectedImage: ['NORM', 'DTIM', 'ATTN', 'SCAT', 'DECY', 'RAN'],
    DecayCorrection: 'START',
    PatientWeight: 67,
    SeriesDate: '20140618',
    SeriesTime: '104829',
    AcquisitionDate: '20140618',
    AcquisitionTime: '104829',
    RadiopharmaceuticalInformationSequence: [
      {
        RadiopharmaceuticalStartTime: '083045.000000',
        RadionuclideTotalDose: 374_000_000,
        RadionuclideHalfLife: F18_HALF_LIFE,
        ...radio,
      },
    ],
    ...overrides,
  };
}

/** Several slices of one series, acquisition times given per slice. */
function series(
  acquisitionTimes: readonly string[],
  overrides: NaturalDataset = {},
  radio: NaturalDataset = {},
) {
  return acquisitionTimes.map((AcquisitionTime, i) =>
    pet({ InstanceNumber: i + 1, AcquisitionTime, ...overrides }, radio),
  );
}

function bqmlFactor(weightKg: number, doseBq: number, seconds: number, halfLife = F18_HALF_LIFE): number {
  return (weightKg * 1000) / (doseBq * 2 ** (-seconds / halfLife));
}

function assertRelative(actual: number, expected: number, tolerance: number): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.abs(expected),
    `${actual} ≠ ${expected} (±${tolerance} rel)`,
  );
}

/** Asserts a DATASET_INVALID error naming the series and every given field, and leaking none of `secrets`. */
function assertInvalid(run: () => unknown, fields: readonly string[], secrets: readonly string[] = []): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FedpetError, String(error));
    assert.equal(error.code, ErrorCodes.datasetInvalid);
    assert.ok(error.message.includes(SOURCE), `names the series: ${error.message}`);
    for (const field of fields) assert.ok(error.message.includes(field), `names ${field}: ${error.message}`);
    for (const secret of secrets)
      assert.ok(!error.message.includes(secret), `leaks ${secret}: ${error.message}`);
    return true;
  });
}

// Values of the reference patient that must never appear in an error message.
const SECRETS = ['67', '374', '6586', '0830', '08:30', '1048', '10:48', '2014'];

test('reference: Siemens BQML (67 kg, 374 MBq, injection 08:30:45, series 10:48:29) = 4.2748316187197236e-4', () => {
  const { factor, derivation } = computeSuvFactor(series(['104829', '104829', '105311.5', '105753']), SOURCE);
  assertRelative(factor, 4.2748316187197236e-4, 1e-12);
  assert.equal(derivation.units, 'BQML');
  assert.equal(derivation.decayCorrection, 'START');
  assert.deepEqual(derivation.scanTime, { date: '2014-06-18', time: '10:48:29.000000', source: 'series' });
  assert.deepEqual(derivation.injectionTime, {
    date: '2014-06-18',
    time: '08:30:45.000000',
    source: 'RadiopharmaceuticalStartTime',
  });
  assert.equal(derivation.decaySeconds, 8264);
  assert.equal(derivation.midnightRuleApplied, false);
  assert.equal(derivation.weightKg, 67);
  assert.equal(derivation.injectedDoseBq, 374e6);
  assert.equal(derivation.halfLifeSeconds, F18_HALF_LIFE);
  assertRelative(derivation.decayedDoseBq!, 374e6 * 2 ** (-8264 / F18_HALF_LIFE), 1e-15);
  assert.ok(derivation.correctedImage.includes('ATTN') && derivation.correctedImage.includes('DECY'));
  assert.equal(derivation.philipsFactor, null);
  assert.deepEqual(derivation.notes, []);
});

// A re-processed series: SeriesTime (13:05:12) is when it was reconstructed again, after
// the acquisition started (12:35:14.999995), so the earliest acquisition is the scan time.
const reprocessed = () =>
  series(
    ['124110', '123514.999995', '123820.5'],
    { PatientWeight: 65, SeriesTime: '130512' },
    { RadiopharmaceuticalStartTime: '114100', RadionuclideTotalDose: 225_000_000 },
  );

test('reference: acquisition before series time (65 kg, 225 MBq, 11:41:00 → 12:35:14.999995) = 4.069156854e-4', () => {
  const { factor, derivation } = computeSuvFactor(reprocessed(), SOURCE);
  assertRelative(factor, 4.069156854e-4, 1e-9);
  assertRelative(factor, bqmlFactor(65, 225e6, 3254.999995), 1e-14);
  assert.equal(derivation.decaySeconds, 3254.999995);
  assert.deepEqual(derivation.scanTime, {
    date: '2014-06-18',
    time: '12:35:14.999995',
    source: 'earliestAcquisition',
  });
  assert.ok(derivation.notes.some((note) => note.includes('re-processed')));
});

test('reference: Philips CNTS with the private SUV scale factor passes 0.000728 through', () => {
  const headers = series(['104829', '105000'], {
    Units: 'CNTS',
    '70530010': 'Philips PET Private Group',
    '70531000': 0.000728,
    '70531009': 1.234,
    PatientWeight: undefined,
    RadiopharmaceuticalInformationSequence: undefined,
  });
  const { factor, derivation } = computeSuvFactor(headers, SOURCE);
  assert.equal(factor, 0.000728);
  assert.deepEqual(derivation.philipsFactor, { source: 'SUVScaleFactor (7053,1000)', value: 0.000728 });
  assert.equal(derivation.decaySeconds, null);
});

test('Philips CNTS without (7053,1000): (7053,1009) × the BQML factor, also when (7053,1000) is zero', () => {
  const philips = { Units: 'CNTS', '70530010': 'Philips PET Private Group', '70531009': 2.5 };
  const expected = 2.5 * bqmlFactor(67, 374e6, 8264);
  const onlyActivity = computeSuvFactor(series(['104829'], philips), SOURCE);
  assertRelative(onlyActivity.factor, expected, 1e-14);
  assert.deepEqual(onlyActivity.derivation.philipsFactor, {
    source: 'ActivityConcentrationScaleFactor (7053,1009)',
    value: 2.5,
  });
  assert.equal(onlyActivity.derivation.decaySeconds, 8264);
  const zeroSuv = computeSuvFactor(series(['104829'], { ...philips, '70531000': 0 }), SOURCE);
  assertRelative(zeroSuv.factor, expected, 1e-14);
  assert.ok(zeroSuv.derivation.notes.some((note) => note.includes('zero')));
  // Implicit VR files: private values arrive as raw bytes; a creator in another block moves the element.
  const bytes = (text: string) => [new TextEncoder().encode(text).buffer];
  const relocated = computeSuvFactor(
    series(['104829'], { Units: 'CNTS', '70530012': 'Philips PET Private Group', '70531209': bytes('2.5 ') }),
    SOURCE,
  );
  assertRelative(relocated.factor, expected, 1e-14);
});

test('Philips CNTS without a usable private factor is an error', () => {
  assertInvalid(
    () => computeSuvFactor([pet({ Units: 'CNTS' })], SOURCE),
    ['Units (0054,1001)', '(7053,xx00', '(7053,xx09'],
  );
  // The factor without its private creator is not trusted.
  assertInvalid(
    () => computeSuvFactor([pet({ Units: 'CNTS', '70531000': 0.000728 })], SOURCE),
    ['(7053,xx00'],
  );
  assertInvalid(
    () =>
      computeSuvFactor(
        [pet({ Units: 'CNTS', '70530010': 'Philips PET Private Group', '70531000': -1 })],
        SOURCE,
      ),
    ['(7053,xx00'],
  );
});

test('GML: already SUVbw, factor 1, nothing else needed', () => {
  const { factor, derivation } = computeSuvFactor(
    [
      pet({
        Units: 'GML',
        PatientWeight: undefined,
        SeriesTime: undefined,
        RadiopharmaceuticalInformationSequence: [],
      }),
    ],
    SOURCE,
  );
  assert.equal(factor, 1);
  assert.equal(derivation.units, 'GML');
  assert.equal(derivation.scanTime, null);
});

test('DecayCorrection ADMIN: the full injected dose, no decay correction', () => {
  const { factor, derivation } = computeSuvFactor(
    series(['104829', '105500'], { DecayCorrection: 'ADMIN' }),
    SOURCE,
  );
  assert.equal(factor, (67 * 1000) / 374e6);
  assert.equal(derivation.decayCorrection, 'ADMIN');
  assert.equal(derivation.decayedDoseBq, 374e6);
  assert.equal(derivation.decaySeconds, null);
  assert.ok(derivation.notes.some((note) => note.includes('ADMIN')));
});

test('re-processed series: the GE private scan date-time (creator GEMS_PETD_01) wins over the earliest acquisition', () => {
  const ge = { '00090010': 'GEMS_PETD_01', '0009100D': '20140618123000.00 ' };
  const headers = reprocessed().map((h) => ({ ...h, ...ge }));
  const { factor, derivation } = computeSuvFactor(headers, SOURCE);
  assertRelative(factor, bqmlFactor(65, 225e6, 49 * 60), 1e-14);
  assert.deepEqual(derivation.scanTime, { date: '2014-06-18', time: '12:30:00.000000', source: 'gePrivate' });
  // Another creator at (0009,0010): the element is not GE's and is ignored.
  const other = reprocessed().map((h) => ({
    ...h,
    '00090010': 'OTHER_VENDOR',
    '0009100D': '20140618123000',
  }));
  assert.equal(computeSuvFactor(other, SOURCE).derivation.scanTime?.source, 'earliestAcquisition');
  // The GE tag is not used when the series time is not after the acquisition.
  const notReprocessed = series(['104829'], ge);
  assert.equal(computeSuvFactor(notReprocessed, SOURCE).derivation.scanTime?.source, 'series');
});

test('RadiopharmaceuticalStartDateTime takes precedence over RadiopharmaceuticalStartTime', () => {
  const headers = series(
    ['104829'],
    {},
    {
      RadiopharmaceuticalStartDateTime: '20140618083045',
      RadiopharmaceuticalStartTime: '090000',
    },
  );
  const { factor, derivation } = computeSuvFactor(headers, SOURCE);
  assertRelative(factor, 4.2748316187197236e-4, 1e-12);
  assert.equal(derivation.injectionTime?.source, 'RadiopharmaceuticalStartDateTime');
  assert.ok(derivation.notes.some((note) => note.includes('differs')));
  // An explicit date the day before is used as such; the midnight rule is not involved.
  const overnight = computeSuvFactor(
    series(
      ['003000'],
      { SeriesDate: '20140619', SeriesTime: '003000', AcquisitionDate: '20140619' },
      {
        RadiopharmaceuticalStartDateTime: '20140618233000',
        RadiopharmaceuticalStartTime: '233000',
      },
    ),
    SOURCE,
  );
  assert.equal(overnight.derivation.decaySeconds, 3600);
  assert.equal(overnight.derivation.midnightRuleApplied, false);
  assert.deepEqual(overnight.derivation.notes, []);
});

test('midnight rule: a start time later in the day than the scan means the day before', () => {
  const headers = series(
    ['003000', '003500'],
    { SeriesDate: '20140619', SeriesTime: '003000', AcquisitionDate: '20140619' },
    {
      RadiopharmaceuticalStartTime: '233000',
    },
  );
  const { factor, derivation } = computeSuvFactor(headers, SOURCE);
  assertRelative(factor, bqmlFactor(67, 374e6, 3600), 1e-14);
  assert.equal(derivation.midnightRuleApplied, true);
  assert.equal(derivation.decaySeconds, 3600);
  assert.deepEqual(derivation.injectionTime, {
    date: '2014-06-18',
    time: '23:30:00.000000',
    source: 'RadiopharmaceuticalStartTime',
  });
});

test('a negative decay time with an explicit injection date is an error', () => {
  assertInvalid(
    () =>
      computeSuvFactor(
        series(['104829'], {}, { RadiopharmaceuticalStartDateTime: '20140618113000' }),
        SOURCE,
      ),
    ['RadiopharmaceuticalStartDateTime (0018,1078)', 'negative'],
    SECRETS,
  );
});

test('enhanced multi-frame: per-frame FrameAcquisitionDateTime gives the earliest acquisition', () => {
  const frame = (dt: string) => ({ FrameContentSequence: [{ FrameAcquisitionDateTime: dt }] });
  const enhanced = pet(
    {
      PatientWeight: 65,
      SeriesTime: '130512',
      AcquisitionDate: undefined,
      AcquisitionTime: undefined,
      AcquisitionDateTime: '20140618124110',
      PerFrameFunctionalGroupsSequence: [
        frame('20140618124110'),
        frame('20140618123514.999995'),
        frame('20140618123820.5'),
      ],
    },
    { RadiopharmaceuticalStartTime: '114100', RadionuclideTotalDose: 225_000_000 },
  );
  const { factor, derivation } = computeSuvFactor([enhanced], SOURCE);
  assertRelative(factor, 4.069156854e-4, 1e-9);
  assert.equal(derivation.scanTime?.time, '12:35:14.999995');
  // Without per-frame values, the dataset's AcquisitionDateTime is used.
  const { PerFrameFunctionalGroupsSequence: _, ...withoutFrames } = enhanced;
  assert.equal(computeSuvFactor([withoutFrames], SOURCE).derivation.scanTime?.time, '12:41:10.000000');
});

test('UTC offsets: an explicit offset is re-expressed in TimezoneOffsetFromUTC, or noted when that is absent', () => {
  // 09:30:45 at +0200 is 08:30:45 at +0100, the series' local time.
  const radio = { RadiopharmaceuticalStartDateTime: '20140618093045+0200' };
  const withZone = computeSuvFactor(series(['104829'], { TimezoneOffsetFromUTC: '+0100' }, radio), SOURCE);
  assertRelative(withZone.factor, 4.2748316187197236e-4, 1e-12);
  assert.equal(withZone.derivation.injectionTime?.time, '08:30:45.000000');
  const withoutZone = computeSuvFactor(series(['104829'], {}, radio), SOURCE);
  assert.equal(withoutZone.derivation.decaySeconds, 8264 - 3600);
  assert.ok(withoutZone.derivation.notes.some((note) => note.includes('TimezoneOffsetFromUTC (0008,0201)')));
});

test('a real Part-10 round trip (dcmjs read, naturalize) gives the same factor, private tags included', () => {
  const headers = reprocessed().map((h, i) => {
    const bytes = writePart10(
      { ...h, SOPClassUID: '1.2.840.10008.5.1.4.1.1.128', SOPInstanceUID: `2.25.${i + 1}` },
      [
        { tag: '00090010', vr: 'LO', value: 'GEMS_PETD_01' },
        { tag: '0009100D', vr: 'DT', value: '20140618123000.00' },
      ],
    );
    const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer as ArrayBuffer);
    return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  });
  const { factor, derivation } = computeSuvFactor(headers, SOURCE);
  assertRelative(factor, bqmlFactor(65, 225e6, 49 * 60), 1e-14);
  assert.equal(derivation.scanTime?.source, 'gePrivate');
});

test('DS values given as strings and a one-value CorrectedImage string are read', () => {
  const headers = [
    pet(
      { PatientWeight: '67 ', CorrectedImage: 'ATTN\\DECY' },
      { RadionuclideTotalDose: '374000000', RadionuclideHalfLife: '6586.2' },
    ),
  ];
  assertRelative(computeSuvFactor(headers, SOURCE).factor, 4.2748316187197236e-4, 1e-12);
});

test('missing values are errors naming the series and the field, never a default', () => {
  const cases: [string, () => NaturalDataset[], string][] = [
    ['no weight', () => [pet({ PatientWeight: undefined })], 'PatientWeight (0010,1030)'],
    ['zero weight', () => [pet({ PatientWeight: 0 })], 'PatientWeight (0010,1030)'],
    ['non-numeric weight', () => [pet({ PatientWeight: 'heavy' })], 'PatientWeight (0010,1030)'],
    ['no dose', () => [pet({}, { RadionuclideTotalDose: undefined })], 'RadionuclideTotalDose (0018,1074)'],
    [
      'no half-life',
      () => [pet({}, { RadionuclideHalfLife: undefined })],
      'RadionuclideHalfLife (0018,1075)',
    ],
    [
      'no radiopharmaceutical',
      () => [pet({ RadiopharmaceuticalInformationSequence: undefined })],
      '(0054,0016)',
    ],
    [
      'no injection time',
      () => [pet({}, { RadiopharmaceuticalStartTime: undefined })],
      'RadiopharmaceuticalStartTime (0018,1072)',
    ],
    ['no series time', () => [pet({ SeriesTime: undefined })], 'SeriesTime (0008,0031)'],
    ['no series date', () => [pet({ SeriesDate: '' })], 'SeriesDate (0008,0021)'],
    ['no acquisition time', () => [pet({ AcquisitionTime: undefined })], 'AcquisitionTime (0008,0032)'],
    ['no acquisition date', () => [pet({ AcquisitionDate: undefined })], 'AcquisitionDate (0008,0022)'],
    ['no units', () => [pet({ Units: undefined })], 'Units (0054,1001)'],
    ['unknown units', () => [pet({ Units: 'PROPCNTS' })], 'Units (0054,1001)'],
    ['no corrected image', () => [pet({ CorrectedImage: undefined })], 'CorrectedImage (0028,0051)'],
    ['not decay corrected', () => [pet({ CorrectedImage: ['ATTN', 'SCAT'] })], 'DECY'],
    ['not attenuation corrected', () => [pet({ CorrectedImage: 'DECY' })], 'ATTN'],
    ['no decay correction', () => [pet({ DecayCorrection: undefined })], 'DecayCorrection (0054,1102)'],
    ['decay correction NONE', () => [pet({ DecayCorrection: 'NONE' })], 'DecayCorrection (0054,1102)'],
    ['malformed series time', () => [pet({ SeriesTime: '10.48.29' })], 'SeriesTime (0008,0031)'],
    [
      'hour-only time',
      () => [pet({}, { RadiopharmaceuticalStartTime: '08' })],
      'RadiopharmaceuticalStartTime (0018,1072)',
    ],
    [
      'malformed start date-time',
      () => [pet({}, { RadiopharmaceuticalStartDateTime: '2014-06-18 08:30' })],
      '(0018,1078)',
    ],
    [
      'malformed GE date-time',
      () => reprocessed().map((h) => ({ ...h, '00090010': 'GEMS_PETD_01', '0009100D': '1230' })),
      '(0009,xx0D',
    ],
    ['bad timezone', () => [pet({ TimezoneOffsetFromUTC: '0100' })], 'TimezoneOffsetFromUTC (0008,0201)'],
    ['weights differ', () => [pet(), pet({ PatientWeight: 68 })], 'PatientWeight (0010,1030)'],
    [
      'doses differ',
      () => [pet(), pet({}, { RadionuclideTotalDose: 375e6 })],
      'RadionuclideTotalDose (0018,1074)',
    ],
    ['series times differ', () => [pet(), pet({ SeriesTime: '104830' })], 'SeriesTime (0008,0031)'],
  ];
  for (const [name, headers, field] of cases) {
    assertInvalid(
      () => computeSuvFactor(headers(), SOURCE),
      [field],
      SECRETS.filter((s) => !field.includes(s)),
    );
    assert.ok(name);
  }
  assertInvalid(() => computeSuvFactor([], SOURCE), []);
});
