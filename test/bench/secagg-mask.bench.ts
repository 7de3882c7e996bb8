/**
 * Secure-aggregation masking cost (shared/src/secagg), compute only — no
 * brokers, no transfers.
 *
 * (1) Mask generation: PRG(seed) → uint32 words (generateMask) and folding 10
 *     masks into a vector (applyMasks), in MB of keystream per second, against
 *     raw node:crypto AES-256-CTR keystream (cipher.update over zeros, output
 *     discarded) measured in the same run. Aim: generation ≥ 0.7 of raw.
 * (2) For 10 hospitals and 1M / 10M parameters: a hospital's encode + mask
 *     (1 self mask + 9 pairwise), and the aggregator's fold of 10 masked
 *     vectors + unmask + decode — with nobody dropped and with one dropped
 *     (9 self masks + 9 recomputed pairwise masks) — against a plain FedAvg
 *     aggregation of the same size (FedAvgAccumulator: 10 adds + finish).
 * (3) The rest of the protocol (keys, signatures, Shamir, AES-GCM), which
 *     does not grow with the model: one whole round with one parameter.
 *
 * Timing samples are interleaved and the median is reported. Hospitals' and
 * updates' contents do not affect the speed, so one masked buffer and one
 * float update are reused to keep memory near 200 MB at 10M parameters.
 *
 * Run: node --import tsx test/bench/secagg-mask.bench.ts
 * Writes test/bench/results/secagg-mask.json. No pass/fail thresholds.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FedAvgAccumulator } from '../../shared/src/aggregation/fedavg.ts';
import { SecaggClient } from '../../shared/src/secagg/client-round.ts';
import {
  decodeWeightedSum,
  encodeWeightedUpdate,
  type FixedPointConfig,
  weightedVectorLength,
} from '../../shared/src/secagg/fixed-point.ts';
import { generateIdentityKeyPair } from '../../shared/src/secagg/identity-keys.ts';
import {
  applyMasks,
  defaultMaskKernel,
  generateMask,
  type MaskTerm,
} from '../../shared/src/secagg/mask-prg.ts';
import { foldInto, maskInPlace, unmaskInPlace } from '../../shared/src/secagg/masking.ts';
import { SecaggServer } from '../../shared/src/secagg/server-round.ts';
import { median } from './support/median.ts';

const HOSPITALS = 10;
const KEYSTREAM_WORDS = 10 * 1024 * 1024; // 40 MiB per stream
const MB = 1e6;

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const seeds = (count: number) => Array.from({ length: count }, () => new Uint8Array(randomBytes(32)));

function rawKeystream(bytes: number, blockBytes: number): void {
  const zero = new Uint8Array(blockBytes);
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), new Uint8Array(16));
  for (let done = 0; done < bytes; done += blockBytes) cipher.update(zero);
}

/** (1) keystream throughput, MB/s of keystream, medians of interleaved repetitions. */
function keystream(repetitions: number) {
  const bytes = KEYSTREAM_WORDS * 4;
  const out = new Uint32Array(KEYSTREAM_WORDS);
  const target = new Uint32Array(KEYSTREAM_WORDS);
  const tenMasks: MaskTerm[] = seeds(10).map((seed, k) => ({ seed, sign: k % 2 === 0 ? 1 : -1 }));
  const simd = defaultMaskKernel() === 'wasm-simd';
  const samples = {
    raw32k: [] as number[],
    raw64k: [] as number[],
    generate: [] as number[],
    apply10Simd: [] as number[],
    apply10Js: [] as number[],
  };
  const rate = (keystreamBytes: number, fn: () => void) => keystreamBytes / seconds(fn) / MB;
  for (let r = 0; r < repetitions; r++) {
    samples.raw32k.push(rate(bytes, () => rawKeystream(bytes, 32 * 1024)));
    samples.raw64k.push(rate(bytes, () => rawKeystream(bytes, 64 * 1024)));
    samples.generate.push(rate(bytes, () => generateMask(seeds(1)[0]!, out)));
    if (simd)
      samples.apply10Simd.push(rate(10 * bytes, () => applyMasks(target, tenMasks, { kernel: 'wasm-simd' })));
    samples.apply10Js.push(rate(10 * bytes, () => applyMasks(target, tenMasks, { kernel: 'js' })));
  }
  const raw = Math.max(median(samples.raw32k), median(samples.raw64k));
  return {
    rawMBps: raw,
    raw32kMBps: median(samples.raw32k),
    raw64kMBps: median(samples.raw64k),
    generateMBps: median(samples.generate),
    generateRatio: median(samples.generate) / raw,
    apply10SimdMBps: simd ? median(samples.apply10Simd) : undefined,
    apply10SimdRatio: simd ? median(samples.apply10Simd) / raw : undefined,
    apply10JsMBps: median(samples.apply10Js),
    apply10JsRatio: median(samples.apply10Js) / raw,
  };
}

/**
 * (3) Everything but the vectors: a whole round through the state machines
 * (keys, signatures, X25519, Shamir, AES-GCM, reconstruction of one dropped
 * hospital's key) with a one-parameter model, all 10 hospitals in this process.
 */
function protocolOverhead(repetitions: number) {
  const ids = Array.from({ length: HOSPITALS }, (_, k) => `h${String(k).padStart(2, '0')}`);
  const identities = new Map(ids.map((id) => [id, generateIdentityKeyPair()]));
  const identityKeys = new Map([...identities].map(([id, pair]) => [id, pair.publicKey]));
  const fixedPoint: FixedPointConfig = { clip: 4000, fractionBits: 14, participants: HOSPITALS };
  const common = {
    experimentId: 'bench',
    round: 1,
    participants: ids,
    threshold: 6,
    identityKeys,
    parameterCount: 1,
    fixedPoint,
  };
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    samples.push(
      seconds(() => {
        const server = new SecaggServer(common);
        const clients = ids.map(
          (self) => new SecaggClient({ ...common, self, identityKey: identities.get(self)!.privateKey }),
        );
        for (const client of clients) server.receiveAdvertisement(client.advertiseKeys());
        const roster = server.closeAdvertising();
        for (const client of clients) server.receiveShares(client.shareKeys(roster));
        const relayed = new Map(server.closeSharing().map((m) => [m.recipient, m]));
        // h00 drops before its masked input, so one mask key is rebuilt and 9 pairwise seeds recomputed.
        clients.slice(1).forEach((client, k) => {
          const update = { values: Float32Array.of(0.5), numSamples: 10 };
          server.receiveMaskedInput(client.maskedInput(relayed.get(ids[k + 1]!)!, update).message);
        });
        const request = server.closeMaskedInput();
        for (const client of clients.slice(1)) server.receiveUnmaskResponse(client.unmask(request));
        server.finish();
      }),
    );
  }
  return { roundMs: median(samples) * 1e3 };
}

/** (2) one size: hospital-side masking and aggregator-side unmasking vs plain FedAvg. */
function round(parameters: number, repetitions: number) {
  const fixedPoint: FixedPointConfig = {
    clip: 4000,
    fractionBits: 14,
    participants: HOSPITALS,
    maxSamplesPerHospital: 1000,
  };
  const ids = Array.from({ length: HOSPITALS }, (_, k) => `h${String(k).padStart(2, '0')}`);
  const values = new Float32Array(parameters);
  for (let i = 0; i < parameters; i++) values[i] = Math.sin(i) * 0.5;
  const selfSeeds = seeds(HOSPITALS);
  const pairSeed = seeds(1)[0]!; // the seed's value does not change the speed
  const masked = new Uint32Array(weightedVectorLength(parameters));
  const average = new Float32Array(parameters);
  const samples = {
    hospital: [] as number[],
    serverAll: [] as number[],
    serverOneDropped: [] as number[],
    plain: [] as number[],
  };
  for (let r = 0; r < repetitions; r++) {
    // A hospital: encode n_u·w_u and add 1 self + 9 pairwise masks.
    const self = ids[r % HOSPITALS]!;
    const peers = ids.filter((id) => id !== self).map((peer) => ({ peer, seed: pairSeed }));
    samples.hospital.push(
      seconds(() => {
        encodeWeightedUpdate(values, 100, fixedPoint, masked);
        maskInPlace(masked, self, selfSeeds[0]!, peers);
      }),
    );
    // The aggregator, nobody dropped: fold 10 masked vectors, remove 10 self masks, decode.
    samples.serverAll.push(
      seconds(() => {
        const sum = new Uint32Array(masked.length);
        for (let k = 0; k < HOSPITALS; k++) foldInto(sum, masked);
        unmaskInPlace(sum, selfSeeds, []);
        // The buffers here are not a real round's, so the masks do not cancel: set the
        // weight and clip-count slots to what a real unmasked sum holds (correctness is tested elsewhere).
        sum[parameters] = HOSPITALS * 100;
        sum[parameters + 1] = 0;
        decodeWeightedSum(sum, fixedPoint, average);
      }),
    );
    // One dropped: 9 folds, 9 self masks and 9 recomputed pairwise masks.
    samples.serverOneDropped.push(
      seconds(() => {
        const sum = new Uint32Array(masked.length);
        for (let k = 0; k < HOSPITALS - 1; k++) foldInto(sum, masked);
        unmaskInPlace(
          sum,
          selfSeeds.slice(1),
          ids.slice(1).map((survivor) => ({ survivor, dropped: ids[0]!, seed: pairSeed })),
        );
        sum[parameters] = (HOSPITALS - 1) * 100;
        sum[parameters + 1] = 0;
        decodeWeightedSum(sum, fixedPoint, average);
      }),
    );
    // Plain FedAvg of the same size, as the aggregator runs it today.
    samples.plain.push(
      seconds(() => {
        const accumulator = new FedAvgAccumulator(parameters);
        for (let k = 0; k < HOSPITALS; k++) accumulator.add(values, 100 + k);
        accumulator.finish();
      }),
    );
  }
  const plain = median(samples.plain);
  return {
    parameters,
    hospitalMaskMs: median(samples.hospital) * 1e3,
    serverUnmaskMs: median(samples.serverAll) * 1e3,
    serverUnmaskOneDroppedMs: median(samples.serverOneDropped) * 1e3,
    plainFedAvgMs: plain * 1e3,
    serverRatio: median(samples.serverAll) / plain,
    serverOneDroppedRatio: median(samples.serverOneDropped) / plain,
    plainKernel: new FedAvgAccumulator(4).kernel,
    maskKernel: defaultMaskKernel(),
  };
}

export async function runSecaggMaskBench() {
  const stream = keystream(5);
  const sizes = [round(1_000_000, 5), round(10_000_000, 3)];
  const protocol = protocolOverhead(3);
  const results = {
    benchmark: 'secagg-mask',
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
    hospitals: HOSPITALS,
    keystream: stream,
    sizes,
    protocol,
  };
  const f = (n: number) => n.toFixed(2);
  const f0 = (n: number) => n.toFixed(0);
  console.table({
    'raw AES-256-CTR keystream (best of 32/64 KB blocks)': {
      'MB/s': f0(stream.rawMBps),
      'ratio to raw': '1.00',
    },
    'generateMask → Uint32Array': {
      'MB/s': f0(stream.generateMBps),
      'ratio to raw': f(stream.generateRatio),
    },
    ...(stream.apply10SimdMBps !== undefined
      ? {
          'applyMasks, 10 masks into a vector (wasm-simd, default)': {
            'MB/s': f0(stream.apply10SimdMBps),
            'ratio to raw': f(stream.apply10SimdRatio!),
          },
        }
      : {}),
    'applyMasks, 10 masks into a vector (js loops)': {
      'MB/s': f0(stream.apply10JsMBps),
      'ratio to raw': f(stream.apply10JsRatio),
    },
  });
  console.log('aim: generation ratio ≥ 0.7');
  console.table(
    Object.fromEntries(
      sizes.map((s) => [
        `${s.parameters / 1e6}M parameters`,
        {
          'hospital encode+mask ms': f0(s.hospitalMaskMs),
          [`aggregator fold+unmask+decode ms (${s.maskKernel})`]: f0(s.serverUnmaskMs),
          'unmask, 1 dropped ms': f0(s.serverUnmaskOneDroppedMs),
          [`plain FedAvg ms (${s.plainKernel})`]: f0(s.plainFedAvgMs),
          'ratio to plain': f(s.serverRatio),
          'ratio, 1 dropped': f(s.serverOneDroppedRatio),
        },
      ]),
    ),
  );
  console.log(
    `hospital times are per hospital (hospitals mask in parallel); the rest of a round — keys, signatures, ` +
      `Shamir, AES-GCM, rebuilding 1 dropped key — takes ${f0(protocol.roundMs)} ms for all ${HOSPITALS} hospitals ` +
      `and the aggregator together, whatever the model size`,
  );
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'secagg-mask.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runSecaggMaskBench();
