/**
 * What must be undone when the chaos suite is interrupted (Ctrl-C, SIGTERM):
 * a stopped shared RabbitMQ started again, fedpet processes (their own
 * process groups, so a Ctrl-C does not reach them) and private Redis servers
 * killed. Each holder registers its cleanup while it holds something and
 * removes it afterwards; on the first signal every registered cleanup runs,
 * then the process exits with 130 (SIGINT) or 143 (SIGTERM).
 */
type Cleanup = () => void | Promise<void>;

const cleanups = new Set<Cleanup>();
let installed = false;

export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  if (!installed) {
    installed = true;
    process.once('SIGINT', () => void runAndExit('SIGINT'));
    process.once('SIGTERM', () => void runAndExit('SIGTERM'));
  }
  return () => {
    cleanups.delete(cleanup);
  };
}

async function runAndExit(signal: NodeJS.Signals): Promise<never> {
  process.stderr.write(`chaos: ${signal}: restoring brokers and stopping processes\n`);
  // Newest first: what was taken last is given back first.
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`chaos: cleanup failed: ${error instanceof Error ? error.message : error}\n`);
    }
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
