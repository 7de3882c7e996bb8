import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Entry scripts of the services, resolved from this file so the sandbox works from any directory. */
export const serviceEntries = {
  aggregator: fileURLToPath(new URL('../../aggregator/bin/fedpet-aggregator.js', import.meta.url)),
  trainer: fileURLToPath(new URL('../../trainer/bin/fedpet-trainer.js', import.meta.url)),
} as const;

export interface ManagedChild {
  name: string;
  logPath: string;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a service as a separate Node process whose stdout and stderr go to
 * `logPath`. It gets its own process group so a Ctrl-C in the terminal
 * reaches only the sandbox, which then stops its children in order.
 */
export function startChild(
  name: string,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logPath: string,
): ManagedChild {
  const log: WriteStream = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [entry, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      setImmediate(() => log.end());
      resolve({ code, signal });
    });
    child.on('error', () => resolve({ code: 127, signal: null }));
  });
  return { name, logPath, process: child, exited };
}

/** SIGTERM, then SIGKILL after `graceMs` if the process is still running. */
export async function stopChild(child: ManagedChild, graceMs = 15000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** The last lines of a child's log, to explain why it stopped. */
export async function tailLog(path: string, lines = 5): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
