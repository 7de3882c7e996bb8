/**
 * Builds clients and a server for one round without a bus, for tests that
 * poke at single phases of the state machines (test support only).
 */
import { createRng } from '../../ml/random.ts';
import { SecaggClient } from '../client-round.ts';
import { SecaggServer } from '../server-round.ts';
import { defaultThreshold } from '../threshold.ts';
import { EXPERIMENT, type Federation, simulationFixedPoint } from './simulated-round.ts';

export const MANUAL_PARAMETERS = 64;

export function manualRound(federation: Federation, round = 1) {
  const { ids, identities, identityKeys } = federation;
  const threshold = defaultThreshold(ids.length);
  const fixedPoint = simulationFixedPoint(ids.length);
  const clients = new Map(
    ids.map((self) => [
      self,
      new SecaggClient({
        experimentId: EXPERIMENT,
        round,
        self,
        participants: ids,
        threshold,
        identityKey: identities.get(self)!.privateKey,
        identityKeys,
        parameterCount: MANUAL_PARAMETERS,
        fixedPoint,
      }),
    ]),
  );
  const server = new SecaggServer({
    experimentId: EXPERIMENT,
    round,
    participants: ids,
    threshold,
    identityKeys,
    parameterCount: MANUAL_PARAMETERS,
    fixedPoint,
  });
  const rng = createRng(round);
  const update = () => ({
    values: Float32Array.from({ length: MANUAL_PARAMETERS }, () => rng.normal()),
    numSamples: 10,
  });
  return { ids, threshold, clients, server, update };
}
