import { Worker } from 'node:worker_threads';
import type { WorkerMessage } from './cohort-worker.ts';
import { type PatientResult, type PatientTask, runPatientTask } from './patient-generator.ts';

const WORKER_ENTRY = new URL('./cohort-worker.mjs', import.meta.url);

type Report = (task: PatientTask, result: PatientResult) => void;

async function runInProcess(tasks: readonly PatientTask[], report: Report): Promise<number> {
  for (const task of tasks) report(task, await runPatientTask(task));
  return 0;
}

/** Starts a worker and resolves once it has loaded its modules, or rejects if it cannot. */
function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_ENTRY);
    const onMessage = (message: WorkerMessage) => {
      if (message.kind !== 'ready') return;
      cleanup();
      resolve(worker);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`cohort worker exited with code ${code} before it was ready`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

function runOnWorker(worker: Worker, task: PatientTask): Promise<PatientResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      cleanup();
      if (message.kind === 'done') resolve(message.result);
      else if (message.kind === 'failed')
        reject(new Error(`${task.preset.hospitalId} patient ${task.patientIndex}: ${message.message}`));
      else reject(new Error('cohort worker sent an unexpected message'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(
        new Error(
          `cohort worker exited with code ${code} during ${task.preset.hospitalId} patient ${task.patientIndex}`,
        ),
      );
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(task);
  });
}

/**
 * Runs the patient tasks on `workers` worker threads (0: in this thread),
 * reporting each result as it completes (completion order may differ from
 * task order; every patient's output depends only on its own task). If no
 * worker can start (no TypeScript loader available), falls back to this
 * thread; a task that fails stops the run and rejects. Resolves to the
 * number of worker threads used.
 */
export async function runPatientTasks(
  tasks: readonly PatientTask[],
  workers: number,
  report: Report,
): Promise<number> {
  const count = Math.min(workers, tasks.length);
  if (count <= 0) return runInProcess(tasks, report);
  const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker()));
  const pool = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (pool.length === 0) return runInProcess(tasks, report);
  let next = 0;
  try {
    await Promise.all(
      pool.map(async (worker) => {
        while (next < tasks.length) {
          const task = tasks[next++] as PatientTask;
          report(task, await runOnWorker(worker, task));
        }
      }),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return pool.length;
}
