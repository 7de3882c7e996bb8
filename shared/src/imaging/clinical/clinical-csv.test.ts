import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveClinicalColumns } from './clinical-columns.ts';
import { parseClinicalCsv } from './clinical-csv.ts';
import { parseCsvText } from './csv-text.ts';

const HEADER = 'patient_id,age,sex,ecog,pdl1_tps,histology,treatment_line,pfs_days,pfs_event,best_response';

test('quoted fields, doubled quotes, CRLF and a BOM are parsed per RFC 4180', () => {
  const records = parseCsvText('\uFEFFa,b\r\n"x, y","say ""hi"""\r\n\r\n1,2', 'mem.csv');
  assert.deepEqual(records, [
    { line: 1, cells: ['a', 'b'] },
    { line: 2, cells: ['x, y', 'say "hi"'] },
    { line: 4, cells: ['1', '2'] },
  ]);
  assert.throws(
    () => parseCsvText('a\n"open', 'bad.csv'),
    /bad\.csv: line 2: a quoted field is never closed/,
  );
});

test('valid rows become records with typed fields; empty optional cells are undefined', () => {
  const table = parseClinicalCsv(
    `${HEADER}\nP1,64,M,1,55,adenocarcinoma,1,210,1,PR\nP2,70.5,female,0,,,,400,0,NE\n`,
    'h1.csv',
  );
  assert.equal(table.problems.length, 0);
  assert.deepEqual(table.records.get('P1'), {
    patientId: 'P1',
    line: 2,
    age: 64,
    sex: 'M',
    ecog: 1,
    pdl1Tps: 55,
    histology: 'adenocarcinoma',
    treatmentLine: 1,
    pfsDays: 210,
    pfsEvent: 1,
    bestResponse: 'PR',
  });
  const p2 = table.records.get('P2')!;
  assert.equal(p2.sex, 'F');
  assert.equal(p2.pdl1Tps, undefined);
  assert.equal(p2.bestResponse, undefined);
});

test('each bad row is reported by line and column without its value; good rows survive', () => {
  const table = parseClinicalCsv(
    [
      HEADER,
      'P1,64,M,1,55,adenocarcinoma,1,210,1,PR',
      'P2,sixty,M,1,55,adenocarcinoma,1,210,1,PR',
      'P3,64,X,1,55,adenocarcinoma,1,210,1,PR',
      'P4,64,M,7,55,adenocarcinoma,1,210,1,PR',
      'P5,64,M,1,55,adenocarcinoma,1,210,2,PR',
      'P6,64,M,1,55,adenocarcinoma,1,210,1',
      'P7,64,M,1,55,mesothelioma,1,210,1,PR',
      'P8,64,M,1,55,adenocarcinoma,1,,1,PR',
      'P1,66,F,0,5,squamous,2,90,0,SD',
    ].join('\n'),
    'h1.csv',
  );
  assert.equal(table.records.size, 0, 'P1 is duplicated, every other row is bad');
  const reasons = table.problems.map((p) => `${p.line} ${p.reason}`);
  assert.deepEqual(reasons, [
    '2 patient id appears on more than one row',
    "3 column 'age': not a number",
    "4 column 'sex': must be M or F",
    "5 column 'ecog': outside 0–4",
    "6 column 'pfs_event': outside 0–1",
    '7 has 9 fields, the header has 10',
    "8 column 'histology': must be adenocarcinoma, squamous or other",
    "9 column 'pfs_days': empty",
    '10 patient id appears on more than one row',
  ]);
  assert.ok(!reasons.join(' ').includes('sixty'));
});

test('column names are configurable and a missing column names itself', () => {
  const columns = resolveClinicalColumns({ pfs_days: 'PFS', patientId: 'Pseudonym' });
  const text = HEADER.replace('pfs_days', 'PFS').replace('patient_id', 'Pseudonym');
  const table = parseClinicalCsv(`${text}\nA,50,M,0,1,other,1,30,1,PD\n`, 'x.csv', columns);
  assert.equal(table.records.get('A')?.pfsDays, 30);
  assert.throws(
    () => parseClinicalCsv(`${text}\n`, 'x.csv'),
    /x\.csv: missing columns 'patient_id', 'pfs_days'/,
  );
  assert.throws(() => resolveClinicalColumns({ os_days: 'OS' }), /unknown clinical field "os_days"/);
});
