import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const cli = {
  fedpet: fileURLToPath(new URL('../../services/researcher/bin/fedpet.js', import.meta.url)),
  aggregator: fileURLToPath(new URL('../../services/aggregator/bin/fedpet-aggregator.js', import.meta.url)),
  trainer: fileURLToPath(new URL('../../services/trainer/bin/fedpet-trainer.js', import.meta.url)),
} as const;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a fedpet command as a separate process and collects its output. */
export function runCli(
  entry: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${entry} ${args.join(' ')} timed out; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
