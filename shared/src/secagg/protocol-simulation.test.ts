/**
 * The whole secure-aggregation round, end to end in memory (Bonawitz et al.
 * 2017, §4): advertise keys → share keys → masked input → unmasking, with
 * 3, 5 and 10 hospitals and ~10k parameters, through a bus that signs and
 * verifies every envelope (./testing/simulated-round.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import type { MaskedInputMessage } from './messages.ts';
import { ReplayGuard } from './replay-guard.ts';
import {
  AGGREGATOR,
  createFederation,
  type DropPoint,
  type Envelope,
  type Federation,
  plainEncoding,
  plainWeightedAverage,
  type SimulationOutcome,
  simulateRound,
} from './testing/simulated-round.ts';
import { chiSquarePValue, pearsonCorrelation, topByteCounts } from './testing/uniformity.ts';
import { defaultThreshold } from './threshold.ts';

const PARAMETERS = 10_000;
const federations = new Map([3, 5, 10].map((n) => [n, createFederation(n)]));
const federation = (n: number): Federation => federations.get(n)!;

/** The secure result equals plain weighted FedAvg over the survivors within its bound (plus float32 rounding). */
function assertMatchesPlain(outcome: SimulationOutcome, survivors: readonly string[]): void {
  assert.equal(outcome.error, undefined, String(outcome.error));
  const result = outcome.result!;
  assert.deepEqual(result.survivors, [...survivors].sort());
  const plain = plainWeightedAverage(outcome, survivors);
  const total = survivors.reduce((sum, id) => sum + outcome.updates.get(id)!.numSamples, 0);
  assert.equal(result.totalSamples, total);
  assert.ok(result.errorBound > 0 && result.errorBound < 1e-6, `bound ${result.errorBound}`);
  assert.equal(result.average.length, plain.length);
  let worst = 0;
  for (let i = 0; i < plain.length; i++) {
    const excess = Math.abs(result.average[i]! - plain[i]!) - Math.abs(plain[i]!) * 2 ** -24;
    worst = Math.max(worst, excess);
  }
  assert.ok(worst <= result.errorBound, `error ${worst} > bound ${result.errorBound}`);
}

const isThresholdError = (error: unknown) =>
  error instanceof FedpetError && error.code === 'SECAGG_THRESHOLD_NOT_MET';

for (const n of [3, 5, 10]) {
  const t = defaultThreshold(n);
  const ids = federation(n).ids;

  test(`n=${n}: with everyone present the unmasked average is plain weighted FedAvg`, () => {
    const outcome = simulateRound({ federation: federation(n), parameters: PARAMETERS, seed: n });
    assertMatchesPlain(outcome, ids);
    assert.deepEqual(outcome.result!.dropped, []);
    assert.equal(outcome.rejected.length, 0);
  });

  for (const point of [
    'before-advertise',
    'before-shares',
    'before-masked-input',
    'before-unmask-response',
  ] as const) {
    for (const count of [...new Set([1, n - t])]) {
      test(`n=${n}, t=${t}: ${count} hospital(s) drop ${point}; the round still completes`, () => {
        // Drop from both ends of the id order so both pairwise signs are exercised.
        const leaving = ids.filter((_, k) => k % 2 === 0).slice(0, count);
        const outcome = simulateRound({
          federation: federation(n),
          parameters: PARAMETERS,
          seed: 100 + n + count,
          drop: { [point]: leaving },
        });
        // Dropping after the masked input leaves the hospital's update in the sum: its shares are rebuilt from the others.
        const inSum = point === 'before-unmask-response' ? ids : ids.filter((id) => !leaving.includes(id));
        assertMatchesPlain(outcome, inSum);
        const expectedDropped = point === 'before-masked-input' ? leaving : [];
        assert.deepEqual(outcome.result!.dropped, expectedDropped);
      });
    }
  }

  test(`n=${n}: fewer than t=${t} survivors end the round with a clear error and nothing reconstructed`, () => {
    const tooMany = ids.slice(0, n - t + 1);
    for (const point of [
      'before-advertise',
      'before-shares',
      'before-masked-input',
      'before-unmask-response',
    ] as DropPoint[]) {
      const outcome = simulateRound({
        federation: federation(n),
        parameters: PARAMETERS,
        seed: 7,
        drop: { [point]: tooMany },
      });
      assert.equal(outcome.result, undefined, point);
      assert.ok(isThresholdError(outcome.error), `${point}: ${String(outcome.error)}`);
      assert.match((outcome.error as Error).message, new RegExp(`${t} needed`));
      assert.equal(outcome.server.phase, 'failed');
      // Before the masked input no hospital was ever asked for a share.
      if (point !== 'before-unmask-response') {
        assert.ok(!outcome.serverInbox.some((m) => m.type === 'secagg.unmask-response'), point);
      }
      assert.throws(() => outcome.server.finish(), FedpetError);
    }
  });
}

test('a bit flip in an encrypted share is detected by its recipient, who aborts', () => {
  const fed = federation(5);
  const outcome = simulateRound({
    federation: fed,
    parameters: PARAMETERS,
    seed: 21,
    // A malicious aggregator flips one bit of h02's share for h04 before relaying (and signing) it.
    tamperRelay: (messages) => {
      const forH04 = messages.find((m) => m.recipient === 'h04')!;
      const fromH02 = forH04.shares.find((s) => s.hospital === 'h02')!;
      fromH02.ciphertext[20]! ^= 0x04;
    },
  });
  const error = outcome.clientErrors.get('h04');
  assert.ok(error instanceof FedpetError && error.code === 'INTEGRITY_ERROR', String(error));
  assert.match(error.message, /from h02 to h04/);
  assert.doesNotMatch(error.message, /[0-9a-f]{32}/i); // no key or share bytes
  assert.equal(outcome.clients.get('h04')!.phase, 'failed');
  // The others go on without h04, which is now a dropped hospital.
  assertMatchesPlain(
    outcome,
    fed.ids.filter((id) => id !== 'h04'),
  );
  assert.deepEqual(outcome.result!.dropped, ['h04']);
});

test('a bit flip in a masked update on the wire is refused by signature and the round goes on without it', () => {
  const fed = federation(5);
  const outcome = simulateRound({
    federation: fed,
    parameters: PARAMETERS,
    seed: 22,
    tamperInTransit: (envelope) => {
      if (envelope.message.type === 'secagg.masked-input' && envelope.message.sender === 'h03') {
        envelope.message.masked[1234]! ^= 1 << 17;
      }
    },
  });
  assert.deepEqual(outcome.rejected, [
    { sender: 'h03', messageType: 'secagg.masked-input', reason: 'bad signature' },
  ]);
  assertMatchesPlain(
    outcome,
    fed.ids.filter((id) => id !== 'h03'),
  );
});

test('messages replayed from round r−1 are refused, whether as sent or relabelled', () => {
  const fed = federation(3);
  const guards = new Map<string, ReplayGuard>();
  const sent: Envelope[] = [];
  assertMatchesPlain(
    simulateRound({ federation: fed, parameters: 2000, seed: 31, round: 1, guards, sent }),
    fed.ids,
  );
  const old = sent.find((e) => e.message.type === 'secagg.masked-input' && e.context.sender === 'h01')!;
  // An attacker on the broker substitutes h01's round-1 masked input, as it was sent…
  const outcome = simulateRound({
    federation: fed,
    parameters: 2000,
    seed: 32,
    round: 2,
    guards,
    tamperInTransit: (envelope) => {
      if (envelope.message.type === 'secagg.masked-input' && envelope.context.sender === 'h01') {
        Object.assign(envelope, { context: old.context, message: old.message, signature: old.signature });
      }
    },
  });
  assert.deepEqual(outcome.rejected, [
    { sender: 'h01', messageType: 'secagg.masked-input', reason: 'stale-round' },
  ]);
  assertMatchesPlain(outcome, ['h02', 'h03']);
  // …or relabelled as round 2: the signature binds the round.
  const relabelled = { ...old, context: { ...old.context, round: 2 } };
  const guard = new ReplayGuard(2);
  const fresh = simulateRound({
    federation: fed,
    parameters: 2000,
    seed: 33,
    round: 2,
    guards: new Map([[AGGREGATOR, guard]]),
    tamperInTransit: (envelope) => {
      if (envelope.message.type === 'secagg.masked-input' && envelope.context.sender === 'h01') {
        Object.assign(envelope, relabelled);
      }
    },
  });
  assert.deepEqual(fresh.rejected, [
    { sender: 'h01', messageType: 'secagg.masked-input', reason: 'bad signature' },
  ]);
});

test('a masked update looks uniform and is uncorrelated with the update it hides; the plain one does not', () => {
  const outcome = simulateRound({ federation: federation(5), parameters: PARAMETERS, seed: 41 });
  assertMatchesPlain(outcome, federation(5).ids);
  const masked = outcome.serverInbox.filter((m): m is MaskedInputMessage => m.type === 'secagg.masked-input');
  assert.equal(masked.length, 5);
  for (const { sender, masked: words } of masked) {
    const plain = plainEncoding(outcome, sender);
    const plainSigned = new Int32Array(plain.buffer);
    const p = chiSquarePValue(topByteCounts(words));
    assert.ok(p > 0.001, `${sender}: chi-square p = ${p}`);
    for (const view of [words, new Int32Array(words.buffer, words.byteOffset, words.length)]) {
      const r = pearsonCorrelation(view, plainSigned);
      assert.ok(Math.abs(r) < 0.05, `${sender}: r = ${r}`);
    }
    // Controls: the same statistics do catch the plain encoding, and a weak "mask" of small offsets.
    assert.ok(chiSquarePValue(topByteCounts(plain)) < 1e-10);
    const weak = plainSigned.map((v, i) => v + ((i * 7919) % 65536));
    assert.ok(pearsonCorrelation(weak, plainSigned) > 0.9);
  }
});

test('the aggregator only ever receives masked vectors, folds them at once and keeps none', () => {
  const fed = federation(5);
  const outcome = simulateRound({ federation: fed, parameters: PARAMETERS, seed: 51 });
  assertMatchesPlain(outcome, fed.ids);
  const kinds = new Set(outcome.serverInbox.map((m) => m.type));
  assert.deepEqual(
    [...kinds].sort(),
    ['secagg.advertise-keys', 'secagg.masked-input', 'secagg.share-keys', 'secagg.unmask-response'].sort(),
  );
  for (const message of outcome.serverInbox) {
    for (const value of Object.values(message)) {
      assert.ok(
        !(value instanceof Float32Array || value instanceof Float64Array),
        `${message.type} carries floats`,
      );
    }
    if (message.type !== 'secagg.masked-input') continue;
    const plain = plainEncoding(outcome, message.sender);
    let equal = 0;
    for (let i = 0; i < plain.length; i++) if (plain[i] === message.masked[i]) equal++;
    assert.ok(equal < 5, `${message.sender}: ${equal} words equal the plain encoding`);
  }

  // Folded, not kept: zeroing each masked vector right after the server took it changes nothing.
  const wiped = simulateRound({
    federation: fed,
    parameters: PARAMETERS,
    seed: 51,
    afterServerReceive: (message) => {
      if (message.type === 'secagg.masked-input') message.masked.fill(0);
    },
  });
  assert.equal(wiped.error, undefined);
  assert.deepEqual(wiped.result!.average, outcome.result!.average);
});
