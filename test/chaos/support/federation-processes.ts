import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FEDERATION_KEYS_FILE, privateKeyFileName } from '../../../shared/src/security/key-files.ts';
import { cli } from '../../support/run-cli.ts';
import { onInterrupt } from './interrupt.ts';

/** A stretch of time a process was not serving: from its kill (or death) until it was ready again. */
export interface Downtime {
  from: number;
  to: number | undefined;
}

/**
 * One fedpet service as a separate Node process, appending stdout and stderr
 * to its log file. It can be killed, restarted with the same arguments and
 * slowed down — all from outside, as an operator or the OS would, with no
 * hook in the service's code.
 */
export class FedpetProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  /** Byte offset of the log where the current incarnation started (its ready line comes after it). */
  private logOffset = 0;
  private throttleTimer: NodeJS.Timeout | undefined;
  readonly downtimes: Downtime[] = [];
  /** Every pid this service ran as (a trainer's secure-aggregation queue is named after its pid). */
  readonly pids: number[] = [];

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly args: readonly string[],
    readonly logPath: string,
    private readonly readyLine: RegExp,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits for its ready log line. */
  async start(readyTimeoutMs = 60_000): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    this.logOffset = await stat(this.logPath).then(
      (s) => s.size,
      () => 0,
    );
    // The log file is the child's own stdout/stderr: nothing passes through (or waits on) this process.
    const log = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, [this.entry, ...this.args], {
      stdio: ['ignore', log, log],
      // Its own process group: a Ctrl-C on the suite reaches only the suite, which then stops it.
      detached: true,
    });
    closeSync(log);
    this.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    this.exited = once(child, 'exit').then(() => {
      const last = this.downtimes.at(-1);
      if (!last || last.to !== undefined) this.downtimes.push({ from: Date.now(), to: undefined });
    });
    await this.waitForLog(this.readyLine, readyTimeoutMs);
    const last = this.downtimes.at(-1);
    if (last && last.to === undefined) last.to = Date.now();
  }

  /** Sends the signal and waits until the process is gone; its downtime starts now. */
  async kill(signal: 'SIGKILL' | 'SIGTERM', graceMs = 10_000): Promise<void> {
    this.unthrottle();
    if (!this.running()) return;
    this.downtimes.push({ from: Date.now(), to: undefined });
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL without waiting (for interrupt cleanup, which must not block). */
  killNow(): void {
    this.unthrottle();
    this.signal('SIGKILL');
  }

  /** Starts it again with the same arguments (killing it first if it still runs). */
  async restart(readyTimeoutMs?: number): Promise<void> {
    await this.kill('SIGKILL');
    await this.start(readyTimeoutMs);
  }

  /**
   * Makes the process about `factor`× slower with no hook in its code: in
   * every 200 ms period it runs for 200/factor ms (SIGCONT) and is stopped
   * for the rest (SIGSTOP). `factor` ≤ 1 lets it run freely again.
   */
  throttle(factor: number, periodMs = 200): void {
    this.unthrottle();
    if (factor <= 1) return;
    const runMs = Math.max(1, Math.round(periodMs / factor));
    const cycle = () => {
      if (!this.signal('SIGCONT')) return;
      this.throttleTimer = setTimeout(() => {
        if (!this.signal('SIGSTOP')) return;
        this.throttleTimer = setTimeout(cycle, periodMs - runMs);
      }, runMs);
    };
    cycle();
  }

  unthrottle(): void {
    if (this.throttleTimer === undefined) return;
    clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
    this.signal('SIGCONT');
  }

  /** The log from the current incarnation's start. */
  async currentLog(): Promise<string> {
    const text = await readFile(this.logPath).catch(() => Buffer.alloc(0));
    return text.subarray(this.logOffset).toString('utf8');
  }

  private async waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pattern.test(await this.currentLog())) return;
      if (!this.running()) {
        throw new Error(
          `${this.name} exited before it was ready; log ${this.logPath}:\n${await this.tail()}`,
        );
      }
      await sleep(100);
    }
    throw new Error(
      `${this.name} not ready after ${timeoutMs / 1000} s; log ${this.logPath}:\n${await this.tail()}`,
    );
  }

  async tail(lines = 8): Promise<string> {
    return (await this.currentLog()).trimEnd().split('\n').slice(-lines).join('\n');
  }

  private signal(signal: NodeJS.Signals): boolean {
    if (!this.running()) return false;
    try {
      return this.child!.kill(signal);
    } catch {
      return false;
    }
  }
}

export interface FederationOptions {
  /** Hospitals to start a trainer for, each with its CSV of dataset "tabular". */
  hospitals: readonly { id: string; csv: string }[];
  /** What `fedpet keys generate` wrote (one private key file per party and federation-keys.yaml). */
  keysDirectory: string;
  busUrl: string;
  redisUrl: string;
  namespace: string;
  /** Logs (aggregator.log, trainer-<id>.log) and each trainer's data directory go here. */
  directory: string;
}

/**
 * An aggregator and one trainer per hospital, started as separate processes
 * with the arguments `fedpet sandbox` gives them (identity key, federation
 * keys, the tabular dataset). `stop()` ends every one of them; call it in
 * `finally`.
 */
export class FederationProcesses {
  private readonly forget: () => void;

  private constructor(
    readonly aggregator: FedpetProcess,
    readonly trainers: ReadonlyMap<string, FedpetProcess>,
  ) {
    this.forget = onInterrupt(() => {
      for (const service of this.all()) service.killNow();
    });
  }

  static async start(options: FederationOptions): Promise<FederationProcesses> {
    const connection = [
      '--bus',
      options.busUrl,
      '--redis',
      options.redisUrl,
      '--namespace',
      options.namespace,
    ];
    const keys = (id: string) => [
      '--identity',
      join(options.keysDirectory, privateKeyFileName(id)),
      '--federation-keys',
      join(options.keysDirectory, FEDERATION_KEYS_FILE),
    ];
    const aggregator = new FedpetProcess(
      'aggregator',
      cli.aggregator,
      [...keys('aggregator'), ...connection],
      join(options.directory, 'aggregator.log'),
      /"msg":"aggregator ready"/,
    );
    const trainers = new Map(
      options.hospitals.map((hospital) => [
        hospital.id,
        new FedpetProcess(
          `trainer ${hospital.id}`,
          cli.trainer,
          [
            '--hospital',
            hospital.id,
            '--workers',
            '1',
            '--data-dir',
            join(options.directory, `data-${hospital.id}`),
            '--dataset',
            `tabular=${hospital.csv}`,
            ...keys(hospital.id),
            ...connection,
          ],
          join(options.directory, `trainer-${hospital.id}.log`),
          /"msg":"trainer ready"/,
        ),
      ]),
    );
    const federation = new FederationProcesses(aggregator, trainers);
    try {
      await Promise.all(federation.all().map((service) => service.start()));
    } catch (error) {
      await federation.stop();
      throw error;
    }
    return federation;
  }

  all(): FedpetProcess[] {
    return [this.aggregator, ...this.trainers.values()];
  }

  trainer(hospital: string): FedpetProcess {
    const trainer = this.trainers.get(hospital);
    if (!trainer) throw new Error(`no trainer for hospital ${hospital} in this federation`);
    return trainer;
  }

  /** Trainers first (SIGTERM, SIGKILL after a grace period), then the aggregator. */
  async stop(graceMs = 5_000): Promise<void> {
    await Promise.all([...this.trainers.values()].map((trainer) => trainer.kill('SIGTERM', graceMs)));
    await this.aggregator.kill('SIGTERM', graceMs);
    this.forget();
  }
}
