import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import {
  addDays,
  combineDateAndTime,
  compareDateTimes,
  formatDateTime,
  isAtLeastPrecision,
  onDateOf,
  parseDicomDate,
  parseDicomDateTime,
  parseDicomTime,
  parseUtcOffset,
  secondsBetween,
  withUtcOffset,
} from './date-time.ts';

function rejects(run: () => unknown, field: string, secret?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.datasetInvalid);
    assert.ok(error.message.includes(field), `message names the field: ${error.message}`);
    if (secret !== undefined)
      assert.ok(!error.message.includes(secret), `message leaks the value: ${error.message}`);
    return true;
  });
}

test('DA: epoch days agree with Date.UTC, including leap days and dates before 1970', () => {
  for (const [text, y, m, d] of [
    ['19700101', 1970, 1, 1],
    ['20140618', 2014, 6, 18],
    ['20000229', 2000, 2, 29],
    ['19691231', 1969, 12, 31],
    ['18991231', 1899, 12, 31],
    ['20991231', 2099, 12, 31],
  ] as const) {
    const date = parseDicomDate(text, 'SeriesDate');
    assert.deepEqual([date.year, date.month, date.day], [y, m, d]);
    assert.equal(date.epochDay, Date.UTC(y, m - 1, d) / 86_400_000);
  }
  assert.equal(
    parseDicomDate('2014.06.18 ', 'SeriesDate').epochDay,
    parseDicomDate('20140618', 'x').epochDay,
  );
});

test('DA: malformed values are rejected naming the field, not the value', () => {
  for (const bad of [
    '2014061',
    '201406180',
    '20141318',
    '20140631',
    '19000229',
    '2014-06-18',
    '',
    'abcdefgh',
  ]) {
    rejects(() => parseDicomDate(bad, 'SeriesDate (0008,0021)'), 'SeriesDate (0008,0021)', bad || undefined);
  }
  rejects(() => parseDicomDate(20140618, 'SeriesDate'), 'SeriesDate');
});

test('TM: optional components, fractions to the microsecond, legacy HH:MM:SS form', () => {
  const micro = (text: string): number => parseDicomTime(text, 'SeriesTime').microsecondOfDay;
  assert.equal(micro('104829'), (10 * 3600 + 48 * 60 + 29) * 1e6);
  assert.equal(micro('104829.5'), (10 * 3600 + 48 * 60 + 29) * 1e6 + 500_000);
  assert.equal(micro('123514.999995'), (12 * 3600 + 35 * 60 + 14) * 1e6 + 999_995);
  assert.equal(micro('1048'), (10 * 3600 + 48 * 60) * 1e6);
  assert.equal(micro('10'), 10 * 3600 * 1e6);
  assert.equal(micro('10:48:29.25'), micro('104829.25'));
  assert.equal(micro('10:48'), micro('1048'));
  assert.equal(micro('235960'), 86_400 * 1e6, 'SS = 60 is a leap second');
  assert.equal(micro(' 083045 '), micro('083045'));
  assert.equal(parseDicomTime('10', 'x').precision, 'hour');
  assert.equal(parseDicomTime('1048', 'x').precision, 'minute');
  assert.equal(parseDicomTime('104829', 'x').precision, 'second');
  assert.equal(parseDicomTime('104829.1', 'x').precision, 'fraction');
});

test('TM: malformed values are rejected naming the field', () => {
  for (const bad of [
    '1',
    '104',
    '2400',
    '1060',
    '104861',
    '104829.',
    '104829.1234567',
    '10:4829',
    '10h48',
    '',
  ]) {
    rejects(() => parseDicomTime(bad, 'AcquisitionTime (0008,0032)'), 'AcquisitionTime (0008,0032)');
  }
  rejects(() => parseDicomTime(undefined, 'AcquisitionTime'), 'AcquisitionTime');
});

test('DT: full value, optional parts, UTC offset', () => {
  const full = parseDicomDateTime('20140618083045.123456+0130', 'RadiopharmaceuticalStartDateTime');
  assert.equal(full.epochDay, Date.UTC(2014, 5, 18) / 86_400_000);
  assert.equal(full.microsecondOfDay, (8 * 3600 + 30 * 60 + 45) * 1e6 + 123_456);
  assert.equal(full.utcOffsetMinutes, 90);
  assert.equal(full.precision, 'fraction');
  assert.equal(parseDicomDateTime('20140618083045-0500', 'x').utcOffsetMinutes, -300);
  const noOffset = parseDicomDateTime('20140618083045', 'x');
  assert.equal(noOffset.utcOffsetMinutes, null);
  assert.equal(noOffset.precision, 'second');
  const dateOnly = parseDicomDateTime('20140618', 'x');
  assert.equal(dateOnly.microsecondOfDay, 0);
  assert.equal(dateOnly.precision, 'day');
  assert.equal(parseDicomDateTime('2014', 'x').precision, 'year');
  assert.equal(parseDicomDateTime('201406', 'x').epochDay, Date.UTC(2014, 5, 1) / 86_400_000);
  assert.equal(parseDicomDateTime('2014061808', 'x').precision, 'hour');
  assert.equal(parseDicomDateTime('20140618083045.00 ', 'x').precision, 'fraction');
});

test('DT: malformed values are rejected naming the field', () => {
  for (const bad of [
    '201',
    '2014061',
    '20141301',
    '20140618250000',
    '20140618083045.',
    '20140618083045+01',
    '20140618083045+1500',
    '20140618083045-1300',
    '20140618083045+0160',
    '2014-06-18T08:30:45',
  ]) {
    rejects(() => parseDicomDateTime(bad, 'FrameAcquisitionDateTime'), 'FrameAcquisitionDateTime', bad);
  }
});

test('UTC offsets and re-expressing a DT in another offset', () => {
  assert.equal(parseUtcOffset('+0100', 'TimezoneOffsetFromUTC'), 60);
  assert.equal(parseUtcOffset('-0930', 'TimezoneOffsetFromUTC'), -570);
  rejects(
    () => parseUtcOffset('0100', 'TimezoneOffsetFromUTC (0008,0201)'),
    'TimezoneOffsetFromUTC (0008,0201)',
  );
  // 00:30 at +0200 is 23:30 the day before at +0100.
  const shifted = withUtcOffset(parseDicomDateTime('20140618003000+0200', 'x'), 60);
  assert.deepEqual(formatDateTime(shifted), { date: '2014-06-17', time: '23:30:00.000000' });
  assert.equal(shifted.utcOffsetMinutes, 60);
  assert.throws(() => withUtcOffset(parseDicomDateTime('20140618003000', 'x'), 60), TypeError);
});

test('differences are exact to the microsecond, across midnight and across years', () => {
  const at = (date: string, time: string) =>
    combineDateAndTime(parseDicomDate(date, 'd'), parseDicomTime(time, 't'));
  assert.equal(secondsBetween(at('20140618', '123514.999995'), at('20140618', '114100')), 3254.999995);
  assert.equal(secondsBetween(at('20140618', '104829'), at('20140618', '083045')), 8264);
  assert.equal(secondsBetween(at('20140619', '001000'), at('20140618', '235000')), 1200);
  assert.equal(secondsBetween(at('20150101', '000000.000001'), at('20141231', '235959.999999')), 0.000002);
  assert.equal(
    secondsBetween(at('20240301', '000000'), at('20240228', '000000')),
    2 * 86_400,
    '2024 is a leap year',
  );
  assert.equal(secondsBetween(at('20140618', '083045'), at('20140618', '104829')), -8264);
  const dt = parseDicomDateTime('20140618083045.5', 'x');
  assert.equal(secondsBetween(at('20140618', '083046'), dt), 0.5);
  assert.ok(compareDateTimes(at('20140618', '083045'), dt) < 0);
  assert.ok(compareDateTimes(dt, at('20140618', '083045')) > 0);
  assert.equal(compareDateTimes(dt, at('20140618', '083045.5')), 0);
});

test('onDateOf, addDays and formatDateTime', () => {
  const scan = parseDicomDateTime('20140618104829', 'x');
  const injection = onDateOf(scan, parseDicomTime('233000.25', 't'));
  assert.deepEqual(formatDateTime(injection), { date: '2014-06-18', time: '23:30:00.250000' });
  assert.deepEqual(formatDateTime(addDays(injection, -1)), { date: '2014-06-17', time: '23:30:00.250000' });
  assert.deepEqual(formatDateTime(parseDicomDateTime('20161231235960', 'x')), {
    date: '2016-12-31',
    time: '23:59:60.000000',
  });
  assert.deepEqual(formatDateTime(parseDicomDateTime('19000301', 'x')), {
    date: '1900-03-01',
    time: '00:00:00.000000',
  });
  assert.ok(isAtLeastPrecision('second', 'minute'));
  assert.ok(!isAtLeastPrecision('hour', 'minute'));
});
