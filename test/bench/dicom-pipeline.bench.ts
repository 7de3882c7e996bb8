/**
 * (c) PET-CT imaging pipeline: a hospital's DICOM folder → SUV volumes →
 * cached tensors and radiomic features, against the time dcmtk's dcmdump needs
 * just to parse the same files (every element, pixel data included: +M), in
 * the same run. Then the same load again, which finds the cache.
 *
 * The cohort is fedpet's synthetic one: three hospitals (Siemens-, GE- and
 * Philips-style series), PET and CT per patient, real Part-10 files.
 *
 * Figures of merit (no thresholds): slices/s and MB/s of each path, and
 * dcmdump seconds ÷ fedpet seconds (how close fedpet's full pipeline comes to
 * a bare parse; 1 would be "as fast as parsing alone").
 * Run: node --import tsx test/bench/dicom-pipeline.bench.ts
 * (writes test/bench/results/dicom-pipeline.json)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { scanDicomTree } from '../../shared/src/imaging/dicom/scan-tree.ts';
import { loadSeriesVolume } from '../../shared/src/imaging/dicom/series-volume.ts';
import { loadPetCtDataset } from '../../shared/src/imaging/pipeline/pet-ct-dataset.ts';
import { generatePetCtCohort } from '../../shared/src/imaging/synth/cohort.ts';
import { median } from './support/median.ts';

const run = promisify(execFile);
const HOSPITALS = ['h1', 'h2', 'h3'];
const PATIENTS_PER_HOSPITAL = 6;
const REPETITIONS = 3;

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: (performance.now() - started) / 1000, value };
}

export async function runDicomPipelineBench() {
  const work = await mkdtemp(join(tmpdir(), 'fedpet-bench-dicom-'));
  try {
    const cohort = await generatePetCtCohort({
      outDirectory: join(work, 'cohort'),
      hospitals: HOSPITALS,
      patientsPerHospital: HOSPITALS.map(() => PATIENTS_PER_HOSPITAL),
      seed: 11,
    });
    const megabytes = cohort.bytes / 1e6;
    const dicomDirectories = cohort.hospitals.map((hospital) => hospital.dicomDirectory);

    const dcmdump: number[] = [];
    const parse: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let slices = 0;
    for (let repetition = 0; repetition < REPETITIONS; repetition++) {
      dcmdump.push(
        (
          await timed(() =>
            run('dcmdump', ['-q', '+sd', '+r', '+M', ...dicomDirectories], { maxBuffer: 1 << 30 }),
          )
        ).seconds,
      );
      // DICOM → volumes in modality units: the reading part of fedpet's pipeline alone.
      parse.push(
        (
          await timed(async () => {
            slices = 0;
            for (const directory of dicomDirectories) {
              const { series } = await scanDicomTree(directory);
              for (const one of series) slices += (await loadSeriesVolume(one)).frames.length;
            }
          })
        ).seconds,
      );
      // The whole pipeline with an empty cache, then again with the cache it filled.
      const cache = join(work, `cache-${repetition}`);
      const loadAll = () =>
        Promise.all(
          cohort.hospitals.map((hospital) =>
            loadPetCtDataset({
              dicomDirectory: hospital.dicomDirectory,
              clinicalFile: hospital.clinicalCsv,
              cacheDirectory: cache,
            }),
          ),
        );
      const first = await timed(loadAll);
      if (first.value.some((dataset) => dataset.fromCache)) throw new Error('the cold load hit a cache');
      cold.push(first.seconds);
      const second = await timed(loadAll);
      if (!second.value.every((dataset) => dataset.fromCache))
        throw new Error('the second load missed the cache');
      warm.push(second.seconds);
    }
    const row = (seconds: number) => ({
      seconds: Number(seconds.toFixed(3)),
      'slices/s': Math.round(slices / seconds),
      'MB/s': Number((megabytes / seconds).toFixed(1)),
      'dcmdump s ÷ this s': Number((median(dcmdump) / seconds).toFixed(2)),
    });
    const table = {
      'dcmdump +M (parse only, baseline)': row(median(dcmdump)),
      'fedpet: DICOM → volumes (scan + pixels)': row(median(parse)),
      'fedpet: full pipeline, empty cache': row(median(cold)),
      'fedpet: full pipeline, cache hit': row(median(warm)),
    };
    console.log(
      `DICOM pipeline: ${cohort.patients} patients, ${slices} slices, ${cohort.files} files, ${megabytes.toFixed(1)} MB (3 vendors), median of ${REPETITIONS}`,
    );
    console.table(table);
    const results = {
      benchmark: 'dicom-pipeline',
      date: new Date().toISOString(),
      patients: cohort.patients,
      files: cohort.files,
      slices,
      megabytes,
      repetitions: REPETITIONS,
      seconds: { dcmdump, parse, cold, warm },
      table,
    };
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'dicom-pipeline.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    return results;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runDicomPipelineBench();
