import { describeError, ErrorCodes } from '../errors/fedpet-error.ts';

/**
 * Runs a command's main function. Any failure becomes one line on stderr
 * naming the command and what is wrong (no stack trace), and a non-zero exit:
 * 2 for usage and configuration errors, 1 for everything else.
 */
export async function runMain(command: string, main: () => Promise<number | undefined>): Promise<void> {
  try {
    const code = await main();
    if (code !== undefined) process.exitCode = code;
  } catch (error) {
    const nodeCode = (error as { code?: unknown }).code;
    if (typeof nodeCode === 'string' && nodeCode.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${command}: ${(error as Error).message} (see ${command} --help)\n`);
      process.exit(2);
    }
    const { code, reason } = describeError(error);
    process.stderr.write(`${command}: ${reason} [${code}]\n`);
    process.exit(code === ErrorCodes.invalidConfig || code === ErrorCodes.invalidSpec ? 2 : 1);
  }
}

/**
 * Calls `stop` once on the first SIGTERM or SIGINT; a second signal exits at
 * once. The returned promise resolves with the signal once `stop` finished.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`received ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      stop(signal)
        .then(() => resolve(signal))
        .catch((error: unknown) => {
          process.stderr.write(`shutdown failed: ${describeError(error).reason}\n`);
          process.exit(1);
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
