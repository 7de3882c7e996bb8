import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { signAdvertisement } from './advertisement.ts';
import { exportAgreementPublicKey, generateAgreementKeyPair } from './key-agreement.ts';
import type { MaskedInputMessage } from './messages.ts';
import { SecaggServer } from './server-round.ts';
import { manualRound } from './testing/manual-round.ts';
import { createFederation, EXPERIMENT, simulationFixedPoint } from './testing/simulated-round.ts';

const federation = createFederation(5);
const code = (expected: string) => (error: unknown) =>
  error instanceof FedpetError && error.code === expected;

test('advertisements: unsigned, uninvited or repeated ones are refused; awaiting() lists the missing', () => {
  const { clients, server } = manualRound(federation);
  const good = clients.get('h01')!.advertiseKeys();
  const tampered = { ...good, maskKey: exportAgreementPublicKey(generateAgreementKeyPair().publicKey) };
  assert.throws(() => server.receiveAdvertisement(tampered), code('SECAGG_BAD_SIGNATURE'));
  server.receiveAdvertisement(good);
  assert.throws(() => server.receiveAdvertisement(good), code('SECAGG_PROTOCOL_VIOLATION'));
  const key = exportAgreementPublicKey(generateAgreementKeyPair().publicKey);
  const outsider = signAdvertisement(
    federation.identities.get('h02')!.privateKey,
    EXPERIMENT,
    1,
    'h77',
    key,
    key,
  );
  assert.throws(() => server.receiveAdvertisement(outsider), code('SECAGG_PROTOCOL_VIOLATION'));
  assert.deepEqual(server.awaiting(), ['h02', 'h03', 'h04', 'h05']);
  server.receiveAdvertisement(clients.get('h02')!.advertiseKeys());
  // Two of five with t = 3: the round ends.
  assert.throws(() => server.closeAdvertising(), code('SECAGG_THRESHOLD_NOT_MET'));
  assert.equal(server.phase, 'failed');
});

test('shares must come from U1 and cover exactly U1 minus the sender', () => {
  const { clients, server } = manualRound(federation);
  for (const id of ['h01', 'h02', 'h03', 'h04'])
    server.receiveAdvertisement(clients.get(id)!.advertiseKeys());
  const roster = server.closeAdvertising();
  assert.deepEqual(server.awaiting(), ['h01', 'h02', 'h03', 'h04']);
  const message = clients.get('h01')!.shareKeys(roster);
  assert.equal(message.shares.length, 3);
  assert.throws(() => server.receiveShares({ ...message, shares: message.shares.slice(1) }), /do not cover/);
  assert.throws(
    () =>
      server.receiveShares({ ...message, shares: [...message.shares.slice(1), { ...message.shares[1]! }] }),
    /twice/,
  );
  assert.throws(() => server.receiveShares({ ...message, sender: 'h05' }), /not in U1/);
  server.receiveShares(message);
  assert.throws(() => server.receiveShares(message), /second set/);
  assert.throws(
    () =>
      server.receiveMaskedInput({ type: 'secagg.masked-input', sender: 'h01', masked: new Uint32Array(66) }),
    /phase share-keys/,
  );
});

test("a masked input arriving after the unmask request is refused: the server never holds y_v and v's key", () => {
  const { clients, server, update } = manualRound(federation);
  for (const client of clients.values()) server.receiveAdvertisement(client.advertiseKeys());
  const roster = server.closeAdvertising();
  for (const client of clients.values()) server.receiveShares(client.shareKeys(roster));
  const relayed = new Map(server.closeSharing().map((m) => [m.recipient, m]));
  const inputs = new Map<string, MaskedInputMessage>();
  for (const [id, client] of clients) inputs.set(id, client.maskedInput(relayed.get(id)!, update()).message);
  for (const id of ['h01', 'h02', 'h03', 'h04']) server.receiveMaskedInput(inputs.get(id)!);
  assert.throws(() => server.receiveMaskedInput(inputs.get('h01')!), /second masked input/);
  assert.throws(
    () => server.receiveMaskedInput({ ...inputs.get('h05')!, masked: new Uint32Array(3) }),
    /3 words, expected 66/,
  );
  const request = server.closeMaskedInput();
  assert.deepEqual(request, {
    type: 'secagg.unmask-request',
    survivors: ['h01', 'h02', 'h03', 'h04'],
    dropped: ['h05'],
  });
  assert.throws(() => server.receiveMaskedInput(inputs.get('h05')!), code('SECAGG_PROTOCOL_VIOLATION'));
  // A response must hold exactly what was asked for.
  const response = clients.get('h01')!.unmask(request);
  assert.deepEqual(
    response.maskKeyShares.map((s) => s.owner),
    ['h05'],
  );
  assert.throws(() => server.receiveUnmaskResponse({ ...response, maskKeyShares: [] }), /exactly the shares/);
  assert.throws(() => server.receiveUnmaskResponse({ ...response, sender: 'h05' }), /not a survivor/);
  server.receiveUnmaskResponse(response);
  server.receiveUnmaskResponse(clients.get('h02')!.unmask(request));
  // Two responses, t = 3: nothing is reconstructed.
  assert.throws(() => server.finish(), code('SECAGG_THRESHOLD_NOT_MET'));
  assert.equal(server.phase, 'failed');
});

test('a corrupt share in an unmask response fails the reconstruction instead of producing a wrong sum', () => {
  const { clients, server, update } = manualRound(federation);
  for (const client of clients.values()) server.receiveAdvertisement(client.advertiseKeys());
  const roster = server.closeAdvertising();
  for (const client of clients.values()) server.receiveShares(client.shareKeys(roster));
  const relayed = new Map(server.closeSharing().map((m) => [m.recipient, m]));
  for (const [id, client] of clients)
    server.receiveMaskedInput(client.maskedInput(relayed.get(id)!, update()).message);
  const request = server.closeMaskedInput();
  for (const [id, client] of clients) {
    const response = client.unmask(request);
    if (id === 'h03') response.selfMaskShares[0]!.share[10]! ^= 0x01;
    server.receiveUnmaskResponse(response);
  }
  assert.throws(
    () => server.finish(),
    (e: unknown) => e instanceof FedpetError && /checksum mismatch/.test(e.message),
  );
});

test("a share presented under another hospital's index is refused", () => {
  const { clients, server, update } = manualRound(federation);
  for (const client of clients.values()) server.receiveAdvertisement(client.advertiseKeys());
  const roster = server.closeAdvertising();
  for (const client of clients.values()) server.receiveShares(client.shareKeys(roster));
  const relayed = new Map(server.closeSharing().map((m) => [m.recipient, m]));
  for (const [id, client] of clients)
    server.receiveMaskedInput(client.maskedInput(relayed.get(id)!, update()).message);
  const request = server.closeMaskedInput();
  for (const [id, client] of clients) {
    const response = client.unmask(request);
    if (id === 'h04') response.selfMaskShares[2]!.share[1] = 9; // byte 1 of the wire form is x
    server.receiveUnmaskResponse(response);
  }
  assert.throws(() => server.finish(), /share of h03 from h04 has the wrong index/);
});

test('configuration errors are clear', () => {
  const base = {
    experimentId: EXPERIMENT,
    round: 1,
    participants: federation.ids,
    threshold: 3,
    identityKeys: federation.identityKeys,
    parameterCount: 10,
    fixedPoint: simulationFixedPoint(5),
  };
  assert.doesNotThrow(() => new SecaggServer(base));
  assert.throws(() => new SecaggServer({ ...base, participants: [...federation.ids, 'h01'] }), /distinct/);
  assert.throws(() => new SecaggServer({ ...base, threshold: 1 }), /above half/);
  assert.throws(() => new SecaggServer({ ...base, parameterCount: 0 }), /parameterCount/);
  assert.throws(
    () => new SecaggServer({ ...base, fixedPoint: { ...simulationFixedPoint(5), fractionBits: 30 } }),
    /headroom/,
  );
});
