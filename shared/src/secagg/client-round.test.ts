import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { signAdvertisement } from './advertisement.ts';
import { SecaggClient } from './client-round.ts';
import { exportAgreementPublicKey, generateAgreementKeyPair } from './key-agreement.ts';
import type { KeyRosterMessage, RelayedSharesMessage } from './messages.ts';
import { MANUAL_PARAMETERS, manualRound } from './testing/manual-round.ts';
import { createFederation, EXPERIMENT, simulationFixedPoint } from './testing/simulated-round.ts';

const federation = createFederation(5);
const code = (expected: string) => (error: unknown) =>
  error instanceof FedpetError && error.code === expected;

/** All five advertise; returns the roster the server would relay. */
function advertised() {
  const round = manualRound(federation);
  for (const client of round.clients.values()) round.server.receiveAdvertisement(client.advertiseKeys());
  return { ...round, roster: round.server.closeAdvertising() };
}

/** Up to the relayed shares. */
function shared() {
  const round = advertised();
  for (const client of round.clients.values()) round.server.receiveShares(client.shareKeys(round.roster));
  const relayed = new Map(round.server.closeSharing().map((m) => [m.recipient, m]));
  return { ...round, relayed };
}

test('a roster with a key swapped by the server is refused (advertisements are signed)', () => {
  const { clients, roster } = advertised();
  const forged: KeyRosterMessage = structuredClone(roster);
  const victim = forged.advertisements.find((a) => a.sender === 'h03')!;
  victim.encryptionKey = exportAgreementPublicKey(generateAgreementKeyPair().publicKey);
  const client = clients.get('h01')!;
  assert.throws(() => client.shareKeys(forged), code('SECAGG_BAD_SIGNATURE'));
  assert.equal(client.phase, 'failed');
  // Re-signing with the server's own choice of key needs h03's identity key: with another one it fails too.
  const resigned = structuredClone(roster);
  const index = resigned.advertisements.findIndex((a) => a.sender === 'h03');
  resigned.advertisements[index] = signAdvertisement(
    federation.identities.get('h02')!.privateKey,
    EXPERIMENT,
    1,
    'h03',
    victim.encryptionKey,
    victim.maskKey,
  );
  assert.throws(() => clients.get('h02')!.shareKeys(resigned), code('SECAGG_BAD_SIGNATURE'));
});

test("a roster without the hospital's own keys, with duplicates or below t is refused", () => {
  const { clients, roster } = advertised();
  const withoutH01 = { ...roster, advertisements: roster.advertisements.filter((a) => a.sender !== 'h01') };
  assert.throws(() => clients.get('h01')!.shareKeys(withoutH01), code('SECAGG_PROTOCOL_VIOLATION'));
  const duplicated = { ...roster, advertisements: [...roster.advertisements, roster.advertisements[1]!] };
  assert.throws(() => clients.get('h02')!.shareKeys(duplicated), code('SECAGG_PROTOCOL_VIOLATION'));
  const tooFew = {
    ...roster,
    advertisements: roster.advertisements.filter((a) => ['h03', 'h05'].includes(a.sender)),
  };
  assert.throws(() => clients.get('h03')!.shareKeys(tooFew), code('SECAGG_THRESHOLD_NOT_MET'));
  // A roster built for another round does not verify.
  const other = advertisedForRound(2);
  assert.throws(() => clients.get('h04')!.shareKeys(other), code('SECAGG_BAD_SIGNATURE'));
});

function advertisedForRound(round: number): KeyRosterMessage {
  const r = manualRound(federation, round);
  for (const client of r.clients.values()) r.server.receiveAdvertisement(client.advertiseKeys());
  return r.server.closeAdvertising();
}

test('relayed shares: misaddressed, duplicated or below t are refused; the update length is checked', () => {
  const { clients, relayed, update } = shared();
  const forH01 = relayed.get('h01')!;
  assert.throws(() => clients.get('h02')!.maskedInput(forH01, update()), code('SECAGG_PROTOCOL_VIOLATION'));
  const duplicated: RelayedSharesMessage = {
    ...relayed.get('h02')!,
    shares: [...relayed.get('h02')!.shares],
  };
  duplicated.shares.push(duplicated.shares[0]!);
  assert.throws(
    () => clients.get('h02')!.maskedInput(duplicated, update()),
    code('SECAGG_PROTOCOL_VIOLATION'),
  );
  const few = { ...relayed.get('h03')!, shares: relayed.get('h03')!.shares.slice(0, 1) };
  assert.throws(() => clients.get('h03')!.maskedInput(few, update()), code('SECAGG_THRESHOLD_NOT_MET'));
  const short = { values: new Float32Array(MANUAL_PARAMETERS - 1), numSamples: 3 };
  assert.throws(() => clients.get('h04')!.maskedInput(relayed.get('h04')!, short), /expects 64/);
  // A share sealed for h05 does not open as h04's, even relabelled: the AEAD binds the recipient.
  const stolen = { ...relayed.get('h05')!, recipient: 'h04' };
  assert.throws(() => clients.get('h05')!.maskedInput(stolen, update()), code('SECAGG_PROTOCOL_VIOLATION'));
});

test('the unmask request must split U2 into survivors and dropped; never both shares for one hospital', () => {
  const { clients, relayed, update, server } = shared();
  for (const [id, client] of clients)
    server.receiveMaskedInput(client.maskedInput(relayed.get(id)!, update()).message);
  const request = server.closeMaskedInput();
  assert.deepEqual(request.dropped, []);
  const bad = [
    { ...request, dropped: ['h02'] }, // h02 both survivor and dropped: would reveal b and s^SK
    { ...request, survivors: request.survivors.filter((id) => id !== 'h03') }, // h03 missing
    { ...request, survivors: [...request.survivors, 'h99'] }, // unknown
    { ...request, survivors: request.survivors.filter((id) => id !== 'h04'), dropped: ['h04'] }, // self dropped
  ];
  bad.forEach((forged, k) => {
    const client = clients.get(`h0${k + 1}`)!;
    assert.throws(() => client.unmask(forged), code('SECAGG_PROTOCOL_VIOLATION'), `case ${k}`);
    assert.equal(client.phase, 'failed');
  });
  const tooFew = { ...request, survivors: ['h05', 'h04'].sort(), dropped: ['h01', 'h02', 'h03'] };
  assert.throws(() => clients.get('h05')!.unmask(tooFew), code('SECAGG_THRESHOLD_NOT_MET'));
});

test('each phase runs once and in order', () => {
  const { clients, roster } = advertised();
  const client = clients.get('h01')!;
  assert.throws(() => client.advertiseKeys(), code('SECAGG_PROTOCOL_VIOLATION'));
  client.shareKeys(roster);
  assert.throws(() => client.shareKeys(roster), /key roster received in phase masked-input/);
  const fresh = manualRound(federation).clients.get('h02')!;
  assert.throws(
    () => fresh.unmask({ type: 'secagg.unmask-request', survivors: [], dropped: [] }),
    /phase advertise/,
  );
});

test('configuration: threshold above half, identity keys for all, headroom for all', () => {
  const base = {
    experimentId: EXPERIMENT,
    round: 1,
    self: 'h01',
    participants: federation.ids,
    threshold: 3,
    identityKey: federation.identities.get('h01')!.privateKey,
    identityKeys: federation.identityKeys,
    parameterCount: 10,
    fixedPoint: simulationFixedPoint(5),
  };
  assert.doesNotThrow(() => new SecaggClient(base));
  assert.throws(() => new SecaggClient({ ...base, threshold: 2 }), /above half/);
  assert.throws(() => new SecaggClient({ ...base, threshold: 6 }), /above half/);
  assert.throws(
    () => new SecaggClient({ ...base, participants: ['h01', 'h02'], threshold: 2 }),
    /3\.\.255 hospitals/,
  );
  assert.throws(() => new SecaggClient({ ...base, self: 'h09' }), /include it/);
  assert.throws(() => new SecaggClient({ ...base, identityKeys: new Map() }), /no identity key/);
  assert.throws(() => new SecaggClient({ ...base, fixedPoint: simulationFixedPoint(4) }), /headroom/);
});
