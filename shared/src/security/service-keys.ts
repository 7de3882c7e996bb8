import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  checkIdentityListed,
  type FederationKeys,
  type LoadedIdentity,
  loadFederationKeys,
  loadIdentity,
} from './key-files.ts';

export interface ServiceKeys {
  identity: LoadedIdentity;
  federation: FederationKeys;
}

/**
 * A service's keys at start-up: its own private key file and the federation's
 * public keys, checked against each other (the file must list this party with
 * exactly its key) and against the role and id the service runs as.
 */
export async function loadServiceKeys(options: {
  identityPath: string;
  federationKeysPath: string;
  role: 'hospital' | 'aggregator';
  id: string;
}): Promise<ServiceKeys> {
  const identity = await loadIdentity(options.identityPath);
  const federation = await loadFederationKeys(options.federationKeysPath);
  if (identity.role !== options.role || identity.id !== options.id) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `${options.identityPath} is the key of ${identity.role} "${identity.id}", but this service runs as ${options.role} "${options.id}"`,
    );
  }
  checkIdentityListed(identity, federation, options.federationKeysPath);
  if (options.role === 'aggregator' && identity.sealingKey === undefined) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `${options.identityPath}: the aggregator's key file has no sealing key`,
    );
  }
  return { identity, federation };
}
