import type { SecaggBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { Logger } from '@fedpet/shared/log/logger';
import { SecaggMessageTypes } from '@fedpet/shared/secagg/messages';
import type { SecaggServer, SecureAggregate } from '@fedpet/shared/secagg/server-round';
import { secaggFromWire, secaggToWire } from '@fedpet/shared/secagg/wire';
import type { RoundCollector, RoundReport } from './round-collector.ts';

export interface SecureRoundOptions {
  server: SecaggServer;
  /** Every hospital invited to the round (n). */
  participants: readonly string[];
  /** Publishes a protocol message to one hospital (secagg-down.<experiment>.<hospital>, signed). */
  publish(hospital: string, body: SecaggBody): Promise<void>;
  phaseTimeoutMs: number;
  logger: Logger;
  signal: AbortSignal;
  /** Hospitals already out of the round (failed, or never sent a job): no phase waits for them. */
  isOut?: (hospital: string) => boolean;
  /** This run of the round (envelope attempt): messages of another attempt are not its own. */
  attempt?: number;
  /**
   * Straggler policy for the key-exchange phases: once `quorum` hospitals
   * answered a phase, the others get `graceMs` more, then the phase closes
   * without them (they count as late, not as failed).
   */
  grace?: { quorum: number; graceMs: number };
}

/** What happened in each phase, for results.json and the logs. */
export interface SecureRoundTrace {
  phasesMs: Record<string, number>;
  /** U1, U2, U3 and the unmask responders, in the paper's names. */
  advertised: string[];
  shared: string[];
  survivors: string[];
  dropped: string[];
}

/**
 * The aggregator's side of one secure-aggregation round (Bonawitz et al.
 * 2017, Figure 4) over the bus: it collects signed key advertisements, relays
 * the roster and the encrypted shares, lets masked inputs be folded as they
 * arrive (through the round collector), asks the survivors to unmask and
 * removes the masks. Each phase ends when every hospital still in the round
 * answered or at its timeout; fewer than t left is a SECAGG_THRESHOLD_NOT_MET
 * error, announced to every hospital, and nothing is reconstructed.
 */
export class SecureRound {
  private wake: (() => void) | undefined;
  /** Messages already handled, by sender and content: a resent copy (after a broker restart) is ignored. */
  private readonly seen = new Set<string>();
  /** Hospitals a phase closed without because of the straggler grace. */
  readonly late = new Set<string>();
  /** Copies of protocol messages ignored. */
  duplicates = 0;
  private readonly started = Date.now();
  private phaseStarted = Date.now();
  readonly trace: SecureRoundTrace = { phasesMs: {}, advertised: [], shared: [], survivors: [], dropped: [] };

  constructor(private readonly options: SecureRoundOptions) {}

  get attempt(): number {
    return this.options.attempt ?? 0;
  }

  /** A hospital's protocol message (from the inbox, signature already checked). Throws on a violation. */
  handle(sender: string, body: SecaggBody): void {
    const key = `${sender}\u0000${JSON.stringify(body)}`;
    if (this.seen.has(key)) {
      this.duplicates++;
      return;
    }
    const message = secaggFromWire(body, sender);
    const { server } = this.options;
    switch (message.type) {
      case SecaggMessageTypes.advertiseKeys:
        server.receiveAdvertisement(message);
        break;
      case SecaggMessageTypes.shareKeys:
        server.receiveShares(message);
        break;
      case SecaggMessageTypes.unmaskResponse:
        server.receiveUnmaskResponse(message);
        break;
      default:
        throw new FedpetError(
          ErrorCodes.secaggProtocolViolation,
          `${sender} sent a ${body.step} message, which only the aggregator sends`,
        );
    }
    this.seen.add(key);
    this.wake?.();
  }

  /** A masked input assembled by the round collector: folded into the masked sum, not kept. */
  receiveMasked(sender: string, masked: Uint32Array): void {
    this.options.server.receiveMaskedInput({ type: SecaggMessageTypes.maskedInput, sender, masked });
  }

  /** Phases 0–1: advertise keys, share keys. Returns U2, the hospitals whose masked input is awaited. */
  async exchangeKeys(): Promise<string[]> {
    const { server } = this.options;
    await this.untilAnswered(this.options.participants);
    const roster = this.guarded(() => server.closeAdvertising());
    this.trace.advertised = roster.advertisements.map((a) => a.sender);
    this.endPhase('advertiseKeys');
    const body = secaggToWire(roster);
    await Promise.all(this.trace.advertised.map((hospital) => this.options.publish(hospital, body)));
    await this.untilAnswered(this.trace.advertised);
    const relayed = this.guarded(() => server.closeSharing());
    this.trace.shared = relayed.map((message) => message.recipient);
    this.endPhase('shareKeys');
    await Promise.all(
      relayed.map((message) => this.options.publish(message.recipient, secaggToWire(message))),
    );
    this.options.logger.info('secure aggregation: keys shared', {
      advertised: this.trace.advertised.length,
      shared: this.trace.shared.length,
    });
    return [...this.trace.shared];
  }

  /** Phases 3–4, once the masked inputs are in: ask the survivors for shares and remove the masks. */
  async unmask(): Promise<SecureAggregate> {
    const { server } = this.options;
    this.endPhase('maskedInput');
    const request = this.guarded(() => server.closeMaskedInput());
    this.trace.survivors = request.survivors;
    this.trace.dropped = request.dropped;
    const body = secaggToWire(request);
    await Promise.all(request.survivors.map((hospital) => this.options.publish(hospital, body)));
    await this.untilAnswered();
    const aggregate = this.guarded(() => server.finish());
    this.endPhase('unmask');
    this.trace.phasesMs.total = Date.now() - this.started;
    return aggregate;
  }

  /** Tells every hospital the round is over without a result, so none waits for its timeout. */
  async abort(code: string, reason: string): Promise<void> {
    await this.abortFor(this.options.participants, code, reason);
  }

  /** Tells these hospitals their part in the round is over. */
  async abortFor(hospitals: readonly string[], code: string, reason: string): Promise<void> {
    const body: SecaggBody = { step: 'abort', code, reason: reason.slice(0, 2000) };
    await Promise.allSettled(hospitals.map((hospital) => this.options.publish(hospital, body)));
  }

  private endPhase(name: string): void {
    const now = Date.now();
    this.trace.phasesMs[name] = now - this.phaseStarted;
    this.phaseStarted = now;
  }

  /** Runs a server step; a protocol failure is announced to every hospital before it is rethrown. */
  private guarded<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      const code = error instanceof FedpetError ? error.code : ErrorCodes.internal;
      void this.abort(code, (error as Error).message);
      throw error;
    }
  }

  /**
   * Waits until nobody the current phase needs is missing, the phase times
   * out, or the aggregator stops; with `phaseMembers` (the hospitals this
   * phase asks), also until the straggler grace after the quorum of them
   * answered (those still missing are late).
   */
  private async untilAnswered(phaseMembers?: readonly string[]): Promise<void> {
    let deadline = Date.now() + this.options.phaseTimeoutMs;
    const missing = () =>
      this.options.server.awaiting().filter((hospital) => !this.options.isOut?.(hospital));
    const grace = phaseMembers ? this.options.grace : undefined;
    let graceEnds: number | undefined;
    while (missing().length > 0) {
      if (this.options.signal.aborted)
        throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
      if (grace && graceEnds === undefined) {
        const answered = (phaseMembers?.length ?? 0) - this.options.server.awaiting().length;
        if (answered >= grace.quorum) {
          graceEnds = Date.now() + grace.graceMs;
          deadline = Math.min(deadline, graceEnds);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 && graceEnds !== undefined && Date.now() >= graceEnds) {
        for (const hospital of missing()) this.late.add(hospital);
        this.options.logger.info('secure aggregation: phase closed after the straggler grace', {
          phase: this.options.server.phase,
          late: missing(),
        });
        return;
      }
      if (left <= 0) {
        this.options.logger.warn('secure aggregation: phase timed out', {
          phase: this.options.server.phase,
          missing: this.options.server.awaiting(),
        });
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

/**
 * One secure training round from the aggregator's side, once its jobs are
 * posted: the key exchange; hospitals that left before sharing keys are
 * recorded as dropped (they cannot send a masked input); masked inputs are
 * folded by the collector as they arrive, until every remaining hospital
 * answered or the round deadline; then unmasking. The report's average is
 * the unmasked weighted average, the only plain vector the aggregator sees.
 */
export async function collectSecureRound(
  secure: SecureRound,
  collector: RoundCollector,
  hospitals: readonly string[],
  deadline: Date,
  signal: AbortSignal,
): Promise<{ report: RoundReport; aggregate: SecureAggregate }> {
  const shared = await secure.exchangeKeys();
  for (const hospital of hospitals) {
    if (shared.includes(hospital)) continue;
    if (secure.late.has(hospital)) {
      collector.addLate(hospital, 'too slow for the key exchange: the phase closed after quorum plus grace');
    } else {
      collector.addError(
        hospital,
        hospital,
        ErrorCodes.secaggDropped,
        'left the secure-aggregation round before sharing its keys',
        secure.attempt,
      );
    }
  }
  const report = await collector.wait(deadline, signal);
  const aggregate = await secure.unmask();
  report.average = aggregate.average;
  // Whoever is not among the survivors (late, dropped) would wait for an unmask request until its
  // phase timeout and miss the next round: tell it the round is over.
  const over = hospitals.filter((hospital) => !aggregate.survivors.includes(hospital));
  await secure.abortFor(
    over,
    ErrorCodes.roundClosed,
    'the round closed without this hospital’s masked input',
  );
  return { report, aggregate };
}
