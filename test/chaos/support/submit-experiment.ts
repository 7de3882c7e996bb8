import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../../support/run-cli.ts';

export interface Submission {
  /** `fedpet submit`'s exit code (null when it was stopped at the timeout). */
  code: number | null;
  timedOut: boolean;
  experimentId: string | undefined;
  stdout: string;
  stderr: string;
  /** results.json, also for a failed experiment when the aggregator stored one. */
  results: unknown;
}

/**
 * Runs `fedpet submit <spec> --out <dir>` against the scenario's namespace
 * and Redis, as a researcher would, and reads results.json. A failed
 * experiment writes none through submit: its results are then fetched with
 * `fedpet results`.
 */
export async function submitExperiment(options: {
  specPath: string;
  outDirectory: string;
  connection: readonly string[];
  timeoutMs: number;
}): Promise<Submission> {
  const args = [cli.fedpet, 'submit', options.specPath, '--out', options.outDirectory, ...options.connection];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, options.timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  const experimentId = /^([a-z0-9-]+)$/m.exec(stdout)?.[1];
  const resultsPath = join(options.outDirectory, 'results.json');
  let results = await readJson(resultsPath);
  if (results === undefined && experimentId) {
    const fetch = spawn(
      process.execPath,
      [cli.fedpet, 'results', experimentId, '--out', options.outDirectory, ...options.connection],
      { stdio: 'ignore' },
    );
    await once(fetch, 'exit');
    results = await readJson(resultsPath);
  }
  return { code, timedOut, experimentId, stdout, stderr, results };
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}
