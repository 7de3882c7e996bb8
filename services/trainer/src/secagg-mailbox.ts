import type { SecaggBody } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';

type Step = SecaggBody['step'];
type BodyOf<S extends Step> = Extract<SecaggBody, { step: S }>;

/**
 * The aggregator's secure-aggregation messages for one round job, in arrival
 * order. Messages that arrive before the job asks for them wait here; an
 * `abort` from the aggregator fails every wait at once with its code.
 */
export class SecaggSession {
  private readonly queue: SecaggBody[] = [];
  private wake: (() => void) | undefined;
  private aborted: FedpetError | undefined;

  push(body: SecaggBody): void {
    if (body.step === 'abort') {
      this.aborted = new FedpetError(body.code, `the aggregator ended the secure round: ${body.reason}`);
    } else this.queue.push(body);
    this.wake?.();
  }

  /** The next message of the given step, or undefined at the deadline. */
  async next<S extends Step>(step: S, deadline: number, signal: AbortSignal): Promise<BodyOf<S> | undefined> {
    for (;;) {
      if (this.aborted) throw this.aborted;
      if (signal.aborted) throw new FedpetError(ErrorCodes.cancelled, 'the trainer is shutting down');
      const index = this.queue.findIndex((body) => body.step === step);
      if (index >= 0) return this.queue.splice(index, 1)[0] as BodyOf<S>;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
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
 * Routes `secagg-down.<experiment>.<hospital>` messages to the round job
 * that is running the protocol. Every worker of a hospital receives them;
 * a worker without a session for that round ignores them (another worker
 * holds the job).
 */
export class SecaggMailbox {
  private readonly sessions = new Map<string, SecaggSession>();
  /** Aborts for sessions not open yet (a restarted round's old job still queued here): applied on open. */
  private readonly earlyAborts = new Map<string, SecaggBody>();

  /** `hospital`: whose mailbox this is; shares addressed to anyone else are refused. */
  constructor(private readonly hospital: string) {}

  /** One session per run of a round: `attempt` separates a restarted round's run from the old one. */
  open(experimentId: string, round: number, attempt = 0): { session: SecaggSession; close(): void } {
    const key = `${experimentId}/${round}/${attempt}`;
    const session = new SecaggSession();
    const early = this.earlyAborts.get(key);
    if (early) {
      this.earlyAborts.delete(key);
      session.push(early);
    }
    this.sessions.set(key, session);
    return {
      session,
      close: () => {
        if (this.sessions.get(key) === session) this.sessions.delete(key);
      },
    };
  }

  /**
   * Hands a message to the round's session. Relayed shares addressed to
   * another hospital are refused (the bus dead-letters them): the aggregator's
   * signature does not cover the topic, so a copy of another hospital's shares
   * republished here must not displace this hospital's own (found by fuzzing).
   */
  deliver(experimentId: string, round: number, body: SecaggBody, attempt = 0): boolean {
    const key = `${experimentId}/${round}/${attempt}`;
    const session = this.sessions.get(key);
    if (!session) {
      if (body.step === 'abort') {
        // Bounded: only the latest few matter (a job of that run may still be waiting in the queue).
        if (this.earlyAborts.size >= 64) this.earlyAborts.delete(this.earlyAborts.keys().next().value!);
        this.earlyAborts.set(key, body);
      }
      return false;
    }
    if (body.step === 'relayed-shares' && body.recipient !== this.hospital) {
      throw new FedpetError(
        ErrorCodes.secaggProtocolViolation,
        `relayed shares for ${body.recipient} arrived at ${this.hospital}'s mailbox`,
      );
    }
    session.push(body);
    return true;
  }
}
