import type { KeyObject } from 'node:crypto';
import { decodeFlat } from '@fedpet/shared/codec/tensor-codec';
import type { EnvelopeFields } from '@fedpet/shared/contracts/frame';
import { encodeMessage } from '@fedpet/shared/contracts/frame';
import type { RoundJob, UpdateProtection } from '@fedpet/shared/contracts/jobs';
import { describeError, ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { Logger } from '@fedpet/shared/log/logger';
import { SecaggClient } from '@fedpet/shared/secagg/client-round';
import { fixedPointOf } from '@fedpet/shared/secagg/round-parameters';
import { sealToPublicKey } from '@fedpet/shared/secagg/sealed-box';
import { secaggFromWire, secaggToWire, type WireSecaggMessage } from '@fedpet/shared/secagg/wire';
import { withProducerSpan } from '@fedpet/shared/telemetry/spans';
import type { Bus } from '@fedpet/shared/transport/bus';
import { Topics } from '@fedpet/shared/transport/topics';
import {
  publishUpdate as publishChunks,
  type UpdateSummary,
} from '@fedpet/shared/transport/update-publisher';
import type { LocalUpdate } from './round-handler.ts';
import type { SecaggMailbox } from './secagg-mailbox.ts';

/** Publishes an update in its own producer span (the receiving aggregator continues the trace). */
function publishUpdate(bus: Bus, fields: EnvelopeFields, summary: UpdateSummary, payload: Uint8Array) {
  return withProducerSpan(
    'update.publish',
    {
      'messaging.destination.name': Topics.update(fields.experimentId, summary.hospital),
      'fedpet.update.encoding': summary.encoding ?? 'float32',
    },
    () => publishChunks(bus, fields, summary, payload),
  );
}

export interface ProtectionDeps {
  bus: Bus;
  hospital: string;
  /** This hospital's Ed25519 private key. */
  identityKey: KeyObject;
  /** Ed25519 public keys of every hospital of the federation. */
  identityKeys: ReadonlyMap<string, KeyObject>;
  aggregator: { id: string; sealingKey: KeyObject };
  mailbox: SecaggMailbox;
  /** A hospital's own policy: refuse to send an update any other way than masked. */
  requireSecureAggregation: boolean;
  logger: Logger;
  signal: AbortSignal;
}

export interface DeliveredUpdate {
  updateId: string;
  chunks: number;
  protection: UpdateProtection['mode'] | 'none';
  /** Secure aggregation: whether the aggregator counted this hospital among the survivors. */
  survivor?: boolean;
}

/** Refuses, before any work, a training job this hospital's policy does not allow. */
export function checkPolicy(job: RoundJob, deps: Pick<ProtectionDeps, 'requireSecureAggregation'>): void {
  if (job.kind === 'evaluate' || !deps.requireSecureAggregation) return;
  if (job.kind === 'cox' || job.protection?.mode !== 'secagg') {
    throw new FedpetError(
      ErrorCodes.secaggRequired,
      `this hospital requires secure aggregation, and round ${job.round} of ${job.experimentId} would send its ${job.kind === 'cox' ? 'Cox terms sealed (exact Cox is not secure-aggregated)' : `update ${job.protection?.mode ?? 'unprotected'}`}`,
    );
  }
}

/**
 * Sends a round's update the way the job says: an evaluation reply as is (it
 * carries metrics, no weights); a training update sealed to the aggregator's
 * X25519 key (AES-256-GCM), or — secure aggregation — only as a masked vector
 * after the key exchange (Bonawitz et al. 2017), training running meanwhile.
 */
export async function deliverUpdate(
  job: RoundJob,
  fields: EnvelopeFields,
  compute: () => Promise<LocalUpdate>,
  deps: ProtectionDeps,
): Promise<DeliveredUpdate> {
  checkPolicy(job, deps);
  const protection = job.kind === 'train' ? job.protection : undefined;
  if (protection?.mode === 'secagg') return runSecureRound(job, protection, fields, compute, deps);
  const update = await compute();
  const summary = {
    hospital: deps.hospital,
    kind: job.kind,
    numSamples: update.numSamples,
    metrics: update.metrics,
    timingsMs: update.timingsMs,
  };
  if (job.kind === 'evaluate') {
    const sent = await publishUpdate(deps.bus, fields, summary, update.payload);
    return { ...sent, protection: 'none' };
  }
  const sealed = sealToPublicKey(deps.aggregator.sealingKey, update.payload, {
    experimentId: job.experimentId,
    round: job.round,
    sender: deps.hospital,
    recipient: deps.aggregator.id,
  });
  const sent = await publishUpdate(deps.bus, fields, { ...summary, encoding: 'sealed' }, sealed);
  return { ...sent, protection: 'sealed' };
}

async function runSecureRound(
  job: RoundJob,
  protection: Extract<UpdateProtection, { mode: 'secagg' }>,
  fields: EnvelopeFields,
  compute: () => Promise<LocalUpdate>,
  deps: ProtectionDeps,
): Promise<DeliveredUpdate> {
  const client = new SecaggClient({
    experimentId: job.experimentId,
    round: job.round,
    self: deps.hospital,
    participants: protection.participants,
    threshold: protection.threshold,
    identityKey: deps.identityKey,
    identityKeys: deps.identityKeys,
    parameterCount: protection.parameterCount,
    fixedPoint: fixedPointOf(protection),
  });
  const { session, close } = deps.mailbox.open(job.experimentId, job.round, job.attempt);
  const send = (message: WireSecaggMessage) =>
    deps.bus.publish(
      Topics.secaggUp(job.experimentId, deps.hospital),
      encodeMessage('secagg', fields, secaggToWire(message)),
    );
  const roundDeadline = Date.parse(job.deadline);
  const phaseMs = protection.phaseTimeoutSeconds * 1000;
  const expect = async <S extends 'key-roster' | 'relayed-shares'>(step: S, deadline: number) => {
    const body = await session.next(step, deadline, deps.signal);
    if (!body) {
      throw new FedpetError(
        ErrorCodes.roundTimeout,
        `no ${step} from the aggregator in time (round ${job.round})`,
        { retryable: false },
      );
    }
    return secaggFromWire(body, fields.sender);
  };
  // Training starts at once; the key exchange runs while it does.
  const training = compute();
  training.catch(() => {}); // awaited below; a failure must not surface as unhandled meanwhile
  try {
    await send(client.advertiseKeys());
    const roster = await expect('key-roster', Date.now() + 2 * phaseMs);
    if (roster.type !== 'secagg.key-roster') throw new Error('unreachable');
    await send(client.shareKeys(roster));
    const relayed = await expect('relayed-shares', Date.now() + 2 * phaseMs);
    if (relayed.type !== 'secagg.relayed-shares') throw new Error('unreachable');
    const update = await training;
    const values = decodeFlat(update.payload).values;
    const { message, clipped } = client.maskedInput(relayed, { values, numSamples: update.numSamples });
    const masked = new Uint8Array(
      message.masked.buffer,
      message.masked.byteOffset,
      message.masked.byteLength,
    );
    const sent = await publishUpdate(
      deps.bus,
      fields,
      {
        hospital: deps.hospital,
        kind: 'train',
        numSamples: update.numSamples,
        metrics: update.metrics,
        timingsMs: update.timingsMs,
        encoding: 'secagg-masked',
      },
      masked,
    );
    if (clipped > 0)
      deps.logger.warn('secure aggregation: parameters clipped', { round: job.round, clipped });
    // Only survivors are asked to help unmask; the request comes after the round's deadline at the latest.
    const request = await session.next(
      'unmask-request',
      Math.max(roundDeadline, Date.now()) + 2 * phaseMs,
      deps.signal,
    );
    if (!request) {
      deps.logger.warn(
        'secure aggregation: no unmask request (this hospital was not counted as a survivor)',
        {
          round: job.round,
        },
      );
      return { ...sent, protection: 'secagg', survivor: false };
    }
    const unmaskRequest = secaggFromWire(request, fields.sender);
    if (unmaskRequest.type !== 'secagg.unmask-request') throw new Error('unreachable');
    await send(client.unmask(unmaskRequest));
    return { ...sent, protection: 'secagg', survivor: true };
  } catch (error) {
    // The protocol cannot be restarted within a round: another attempt would
    // advertise new keys to a server that has moved on. This hospital drops
    // out of the round (the others go on while t remain) and joins the next.
    const { code, reason } = describeError(error);
    throw new FedpetError(code, reason, { retryable: false, cause: error });
  } finally {
    close();
  }
}
