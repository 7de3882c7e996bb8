import { join } from 'node:path';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { serviceEntries, startChild, tailLog } from './child-processes.ts';
import type { Federation } from './federation.ts';

/**
 * Registers every PET-CT dataset of the given hospitals in that hospital's
 * registry, exactly as its operator would (`fedpet-trainer dataset add
 * --replace`), two hospitals at a time. The first run parses the DICOM and
 * fills the hospital's preprocessing cache; later runs only hash the files
 * and find the cache. Output goes to `<logs>/dataset-<hospital>.log`.
 */
export async function registerPetCtDatasets(
  federation: Federation,
  hospitalIds: readonly string[],
  logDirectory: string,
  env: NodeJS.ProcessEnv,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const tasks: { hospital: string; dataDir: string; name: string; args: string[] }[] = [];
  for (const id of hospitalIds) {
    const hospital = federation.hospitals.find((candidate) => candidate.id === id);
    if (!hospital) continue;
    for (const [name, dataset] of Object.entries(hospital.datasets)) {
      if (typeof dataset === 'string') continue;
      const args = [
        'dataset',
        'add',
        '--replace',
        '--data-dir',
        hospital.dataDir!,
        '--name',
        name,
        '--kind',
        'pet-ct',
      ];
      args.push('--dicom', dataset.dicom, '--clinical', dataset.clinical);
      if (dataset.tags.length > 0) args.push('--tags', dataset.tags.join(','));
      for (const [field, column] of Object.entries(dataset.columns))
        args.push('--column', `${field}=${column}`);
      tasks.push({ hospital: id, dataDir: hospital.dataDir!, name, args });
    }
  }
  let next = 0;
  const failures: string[] = [];
  const runOne = async (): Promise<void> => {
    while (next < tasks.length && !signal.aborted) {
      const task = tasks[next++]!;
      const started = performance.now();
      const logPath = join(logDirectory, `dataset-${task.hospital}-${task.name}.log`);
      const child = startChild(`dataset ${task.hospital}`, serviceEntries.trainer, task.args, env, logPath);
      const stop = () => child.process.kill('SIGTERM');
      signal.addEventListener('abort', stop, { once: true });
      const { code } = await child.exited;
      signal.removeEventListener('abort', stop);
      if (signal.aborted) return;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        const summary = (await tailLog(logPath, 1)).trim();
        write(`  ${task.hospital}: ${summary.replace(/^registered /, '')} [${seconds} s]`);
      } else {
        failures.push(`${task.hospital} dataset "${task.name}": ${(await tailLog(logPath, 3)).trim()}`);
      }
    }
  };
  await Promise.all([runOne(), runOne()]);
  if (failures.length > 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `could not register datasets:\n  ${failures.join('\n  ')}`,
    );
  }
}
