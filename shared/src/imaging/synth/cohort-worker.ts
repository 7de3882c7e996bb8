import { parentPort } from 'node:worker_threads';
import { type PatientTask, runPatientTask } from './patient-generator.ts';

/** Messages a cohort worker sends to the main thread. */
export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'done'; result: Awaited<ReturnType<typeof runPatientTask>> }
  | { kind: 'failed'; message: string };

const port = parentPort;
if (!port) throw new Error('cohort-worker.ts runs only as a worker thread (see patient-runner.ts)');

port.on('message', (task: PatientTask) => {
  runPatientTask(task).then(
    (result) => port.postMessage({ kind: 'done', result } satisfies WorkerMessage),
    (error: unknown) =>
      port.postMessage({
        kind: 'failed',
        message: error instanceof Error ? error.message : String(error),
      } satisfies WorkerMessage),
  );
});
port.postMessage({ kind: 'ready' } satisfies WorkerMessage);
