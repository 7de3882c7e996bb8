import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CrashPoint, runRound } from '../support/secure-round-harness.ts';

/**
 * Secure aggregation over the real RabbitMQ: the aggregator's protocol driver
 * and round collector, and each hospital's real update path (deliverUpdate),
 * every message signed and verified (test/support/secure-round-harness.ts).
 * Hospitals "crash" at each phase — their bus silently swallows everything
 * from a given protocol step on, as a dead process would — and the round must
 * still produce the survivors' weighted average, within the fixed-point
 * bound, while at least t remain.
 */
const PARAMETERS = 2000;

describe('secure aggregation over RabbitMQ', () => {
  test('no dropout: the unmasked average is the weighted FedAvg within the fixed-point bound', async () => {
    const result = await runRound({ hospitals: 5, parameters: PARAMETERS, mode: 'secagg' });
    assert.ok(result.aggregate, String(result.error));
    assert.deepEqual(result.aggregate.survivors, ['h1', 'h2', 'h3', 'h4', 'h5']);
    assert.ok(result.worstError! <= result.aggregate.errorBound + 1e-5, `error ${result.worstError}`);
    // What the aggregation code received from each hospital is a masked vector, far from its values.
    assert.equal(result.received.length, 5);
    for (const { masked } of result.received) {
      const asInt = new Int32Array(masked.buffer, masked.byteOffset, 10);
      assert.ok(
        asInt.some((word) => Math.abs(word) > 2 ** 24),
        'masked words look like noise',
      );
    }
    for (const hospital of result.hospitals) {
      assert.ok(hospital && !(hospital instanceof Error) && hospital.protection === 'secagg');
    }
  });

  test('secure aggregation off: sealed updates give the same average, opened only by the aggregator', async () => {
    const result = await runRound({ hospitals: 3, parameters: PARAMETERS, mode: 'sealed' });
    assert.ok(result.average, String(result.error));
    assert.ok(result.worstError! < 1e-5, `error ${result.worstError}`);
    for (const hospital of result.hospitals) {
      assert.ok(hospital && !(hospital instanceof Error) && hospital.protection === 'sealed');
    }
  });

  for (const point of ['offline', 'before-share-keys', 'before-masked-input', 'before-unmask'] as const) {
    for (const dropped of [1, 2]) {
      test(`${dropped} of 5 hospitals drop ${point} (t = 3): the round completes`, async () => {
        const crashes: Record<string, CrashPoint> = Object.fromEntries(
          ['h2', 'h4'].slice(0, dropped).map((id) => [id, point] as const),
        );
        const result = await runRound({ hospitals: 5, parameters: PARAMETERS, mode: 'secagg', crashes });
        assert.ok(result.aggregate, String(result.error));
        const gone = Object.keys(crashes);
        if (point === 'before-unmask') {
          // Their masked inputs are in the sum: they are survivors whose self-masks the others rebuild.
          assert.deepEqual(result.aggregate.survivors, ['h1', 'h2', 'h3', 'h4', 'h5']);
        } else {
          for (const id of gone)
            assert.ok(!result.aggregate.survivors.includes(id), `${id} is not a survivor`);
          assert.equal(result.aggregate.survivors.length, 5 - dropped);
        }
        assert.ok(result.worstError! <= result.aggregate.errorBound + 1e-5, `error ${result.worstError}`);
      });
    }
  }

  test('fewer than t hospitals left: a clear error, nothing reconstructed, every hospital told', async () => {
    const result = await runRound({
      hospitals: 5,
      parameters: PARAMETERS,
      mode: 'secagg',
      crashes: { h1: 'before-share-keys', h2: 'before-share-keys', h3: 'before-share-keys' },
    });
    assert.ok(result.error);
    assert.equal((result.error as { code?: string }).code, 'SECAGG_THRESHOLD_NOT_MET');
    assert.equal(result.received.length, 0, 'no masked input was ever folded');
    const told = result.hospitals.filter((outcome) => outcome instanceof Error) as Error[];
    assert.ok(
      told.some((error) => /ended the secure round/.test(error.message)),
      'the remaining hospitals were told the round ended',
    );
  });
});
