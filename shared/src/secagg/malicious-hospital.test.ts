/**
 * A hospital that does not follow the protocol, hand-built from the
 * primitives, against honest SecaggClients and the SecaggServer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { signAdvertisement } from './advertisement.ts';
import {
  exportAgreementPublicKey,
  generateAgreementKeyPair,
  importAgreementPublicKey,
} from './key-agreement.ts';
import type { KeyRosterMessage, ShareKeysMessage } from './messages.ts';
import { rawPrivateKey } from './raw-keys.ts';
import { split } from './shamir.ts';
import { sealBundle } from './share-bundle.ts';
import { manualRound } from './testing/manual-round.ts';
import { createFederation, EXPERIMENT } from './testing/simulated-round.ts';

const federation = createFederation(5);
const ROUND = 1;

/** h05, who can misassign share indices or share a key other than the one it advertised. */
function rogue(options: { shiftIndices?: boolean; shareOtherMaskKey?: boolean }) {
  const encryption = generateAgreementKeyPair();
  const mask = generateAgreementKeyPair();
  const advertisement = signAdvertisement(
    federation.identities.get('h05')!.privateKey,
    EXPERIMENT,
    ROUND,
    'h05',
    exportAgreementPublicKey(encryption.publicKey),
    exportAgreementPublicKey(mask.publicKey),
  );
  const shareKeys = (roster: KeyRosterMessage, threshold: number): ShareKeysMessage => {
    const ids = roster.advertisements.map((a) => a.sender).sort();
    const maskSecret = options.shareOtherMaskKey
      ? rawPrivateKey('x25519', generateAgreementKeyPair().privateKey)
      : rawPrivateKey('x25519', mask.privateKey);
    const maskShares = split(maskSecret, threshold, ids.length);
    const seedShares = split(randomBytes(32), threshold, ids.length);
    const shares = ids
      .map((peer, index) => ({ peer, index: options.shiftIndices ? (index + 1) % ids.length : index }))
      .filter(({ peer }) => peer !== 'h05')
      .map(({ peer, index }) => {
        const peerKey = roster.advertisements.find((a) => a.sender === peer)!.encryptionKey;
        return {
          hospital: peer,
          ciphertext: sealBundle(
            encryption.privateKey,
            importAgreementPublicKey(peerKey),
            { maskKeyShare: maskShares[index]!, selfMaskShare: seedShares[index]! },
            { experimentId: EXPERIMENT, round: ROUND, sender: 'h05', recipient: peer },
          ),
        };
      });
    return { type: 'secagg.share-keys', sender: 'h05', shares };
  };
  return { advertisement, shareKeys };
}

function upToShares(options: Parameters<typeof rogue>[0]) {
  const round = manualRound(federation, ROUND);
  const h05 = rogue(options);
  const honest = round.ids.filter((id) => id !== 'h05');
  for (const id of honest) round.server.receiveAdvertisement(round.clients.get(id)!.advertiseKeys());
  round.server.receiveAdvertisement(h05.advertisement);
  const roster = round.server.closeAdvertising();
  for (const id of honest) round.server.receiveShares(round.clients.get(id)!.shareKeys(roster));
  round.server.receiveShares(h05.shareKeys(roster, round.threshold));
  const relayed = new Map(round.server.closeSharing().map((m) => [m.recipient, m]));
  return { ...round, honest, relayed };
}

test("shares carrying another hospital's index are refused by their recipient", () => {
  const { clients, relayed, update } = upToShares({ shiftIndices: true });
  assert.throws(
    () => clients.get('h01')!.maskedInput(relayed.get('h01')!, update()),
    (e: unknown) => e instanceof FedpetError && /shares from h05 have the wrong index/.test(e.message),
  );
});

test('a dropped hospital whose shared mask key differs from its advertised one is caught at unmasking', () => {
  const { clients, relayed, update, server, honest } = upToShares({ shareOtherMaskKey: true });
  // h05 then drops before sending a masked input; the server must rebuild its mask key.
  for (const id of honest)
    server.receiveMaskedInput(clients.get(id)!.maskedInput(relayed.get(id)!, update()).message);
  const request = server.closeMaskedInput();
  assert.deepEqual(request.dropped, ['h05']);
  for (const id of honest) server.receiveUnmaskResponse(clients.get(id)!.unmask(request));
  assert.throws(
    () => server.finish(),
    (e: unknown) =>
      e instanceof FedpetError &&
      e.code === 'INTEGRITY_ERROR' &&
      /mask key of h05 does not match/.test(e.message),
  );
});
