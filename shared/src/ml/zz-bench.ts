import { selectBackend } from './backend.ts';
import { buildModel, getWeights, setWeights, type NamedWeights } from './model.ts';
import { evaluate, trainLocal } from './train.ts';
import { concatTabularData, parseTabularCsv, splitTrainValidation } from './tabular-dataset.ts';
import { generateSyntheticTabular, tableToCsv } from './synthetic-cohort.ts';
import { deriveSeed } from './random.ts';

const backendName = (process.env.BK ?? 'cpu') as 'cpu' | 'wasm';
const b = await selectBackend(backendName);
const hidden = JSON.parse(process.env.HU ?? '[8]') as number[];
const lr = Number(process.env.LR ?? '0.05');
const bs = Number(process.env.BS ?? '32');
const R = Number(process.env.R ?? '4');
const E = Number(process.env.E ?? '2');
const opt = (process.env.OPT ?? 'adam') as 'adam' | 'sgd';
const sizes = JSON.parse(process.env.SIZES ?? '[300,150,450]') as number[];
const shift = Number(process.env.SHIFT ?? '1');
const d = Number(process.env.D ?? '6');
const seeds = JSON.parse(process.env.SEEDS ?? '[1]') as number[];

function fedavg(updates: { n: number; w: NamedWeights[] }[]): NamedWeights[] {
  const total = updates.reduce((s, u) => s + u.n, 0);
  return updates[0]!.w.map((t, i) => {
    const values = new Float32Array(t.values.length);
    const acc = new Float64Array(t.values.length);
    for (const u of updates) { const v = u.w[i]!.values; for (let j = 0; j < v.length; j++) acc[j]! += (u.n / total) * v[j]!; }
    values.set(acc);
    return { name: t.name, shape: t.shape, values };
  });
}
for (const seed of seeds) {
  const t0 = performance.now();
  const cohort = generateSyntheticTabular({ hospitals: ['a', 'b', 'c'], rowsPerHospital: sizes, features: d, seed, shift });
  const plan = { kind: 'tabular-mlp' as const, task: 'binary-classification' as const, features: cohort.features, label: 'label', hiddenUnits: hidden, activation: 'relu' as const };
  const hp = { localEpochs: E, batchSize: bs, learningRate: lr, optimizer: opt };
  const splits = cohort.hospitals.map((h) => splitTrainValidation(parseTabularCsv(tableToCsv(h.table), plan, h.hospital), 0.2, seed));
  const val = concatTabularData(splits.map((s) => s.validation));
  const pooled = concatTabularData(splits.map((s) => s.train));
  const global = buildModel(plan, seed);
  const local = buildModel(plan, seed);
  const fedLosses: number[] = [(await evaluate(global, val, plan)).loss];
  for (let r = 1; r <= R; r++) {
    const updates = [];
    for (const [k, s] of splits.entries()) {
      setWeights(local, getWeights(global));
      const res = await trainLocal(local, s.train, hp, plan, deriveSeed(seed, 'round', r, k));
      updates.push({ n: res.numSamples, w: getWeights(local) });
    }
    setWeights(global, fedavg(updates));
    fedLosses.push((await evaluate(global, val, plan)).loss);
  }
  const t1 = performance.now();
  const central = buildModel(plan, seed);
  await trainLocal(central, pooled, { ...hp, localEpochs: R * E }, plan, seed);
  const cm = await evaluate(central, val, plan);
  const fm = await evaluate(global, val, plan);
  const t2 = performance.now();
  const mono = fedLosses.every((l, i) => i === 0 || l < fedLosses[i - 1]!);
  const minDrop = Math.min(...fedLosses.slice(1).map((l, i) => fedLosses[i]! - l));
  console.log(`${b.name} seed=${seed} prev=${cohort.hospitals.map((h) => h.prevalence.toFixed(2))} fed=${fedLosses.map((l) => l.toFixed(4)).join('>')} central=${cm.loss.toFixed(4)} ratio=${(fm.loss / cm.loss).toFixed(4)} mono=${mono} minDrop=${minDrop.toFixed(4)} aucF=${fm.auc?.toFixed(3)} aucC=${cm.auc?.toFixed(3)} fedMs=${(t1 - t0).toFixed(0)} centralMs=${(t2 - t1).toFixed(0)}`);
  global.dispose(); local.dispose(); central.dispose();
}
