/**
 * (d) Secure aggregation, a whole round: 10 hospitals send a model-sized
 * update through the real RabbitMQ to the aggregator's collection code, by
 * secure aggregation (four phases, masked updates) and — the baseline, in the
 * same run — the way fedpet sends them without it (each update sealed to the
 * aggregator's key, opened and folded as it arrives). Hospitals and the
 * aggregator share this process (and its 2 cores here), as in
 * test/support/secure-round-harness.ts, so the figures include the hospitals'
 * work too; the mask benchmark below isolates the arithmetic.
 *
 * Figures: round time secure ÷ sealed; each secure phase; bytes each
 * hospital publishes and their ratio; then secagg-mask.bench.ts (mask
 * generation vs raw AES-256-CTR keystream, and the aggregator's
 * fold+unmask+decode vs a plain FedAvg fold).
 * Run: node --import tsx test/bench/secure-round.bench.ts
 * (writes test/bench/results/secure-round.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRound } from '../support/secure-round-harness.ts';
import { runSecaggMaskBench } from './secagg-mask.bench.ts';
import { median } from './support/median.ts';

const HOSPITALS = 10;
const SIZES = [1_000_000, 10_000_000];
const REPETITIONS = 3;

export async function runSecureRoundBench() {
  const rows: Record<string, Record<string, string>> = {};
  const figures: Record<string, unknown>[] = [];
  for (const parameters of SIZES) {
    const secure: number[] = [];
    const sealed: number[] = [];
    let phases: Record<string, number> = {};
    let secureBytes = 0;
    let sealedBytes = 0;
    for (let repetition = 0; repetition < REPETITIONS; repetition++) {
      const plainRound = await runRound({
        hospitals: HOSPITALS,
        parameters,
        mode: 'sealed',
        phaseTimeoutMs: 60_000,
        roundTimeoutMs: 300_000,
      });
      if (!plainRound.average) throw plainRound.error ?? new Error('sealed round failed');
      sealed.push(plainRound.roundMs);
      sealedBytes = median(plainRound.bytesSent);
      const secureRound = await runRound({
        hospitals: HOSPITALS,
        parameters,
        mode: 'secagg',
        phaseTimeoutMs: 60_000,
        roundTimeoutMs: 300_000,
      });
      if (!secureRound.aggregate) throw secureRound.error ?? new Error('secure round failed');
      if (secureRound.worstError! > secureRound.aggregate.errorBound + 1e-5) {
        throw new Error(`secure average off by ${secureRound.worstError}`);
      }
      secure.push(secureRound.roundMs);
      phases = secureRound.phasesMs;
      secureBytes = median(secureRound.bytesSent);
    }
    const label = `${parameters / 1e6}M parameters`;
    rows[label] = {
      'sealed round ms': median(sealed).toFixed(0),
      'secure round ms': median(secure).toFixed(0),
      'secure ÷ sealed': (median(secure) / median(sealed)).toFixed(2),
      'phases ms (advertise/share/masked input/unmask)': [
        phases.advertiseKeys,
        phases.shareKeys,
        phases.maskedInput,
        phases.unmask,
      ].join(' / '),
      'bytes/hospital secure': (secureBytes / 1e6).toFixed(2) + ' MB',
      'bytes/hospital sealed': (sealedBytes / 1e6).toFixed(2) + ' MB',
      expansion: (secureBytes / sealedBytes).toFixed(4),
    };
    figures.push({
      parameters,
      hospitals: HOSPITALS,
      secureMs: secure,
      sealedMs: sealed,
      phases,
      secureBytes,
      sealedBytes,
    });
  }
  console.log(`Secure vs sealed round, ${HOSPITALS} hospitals through RabbitMQ, median of ${REPETITIONS}`);
  console.table(rows);
  const mask = await runSecaggMaskBench();
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'secure-round.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ benchmark: 'secure-round', date: new Date().toISOString(), rounds: figures, mask }, null, 2)}\n`,
  );
  return { rounds: figures, mask };
}

if (import.meta.url === `file://${process.argv[1]}`) await runSecureRoundBench();
