import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayGuard } from './replay-guard.ts';

test('the same (sender, type, round, nonce) is admitted once', () => {
  const guard = new ReplayGuard(3);
  const entry = { sender: 'h1', messageType: 'masked-input', round: 3, nonce: 'n1' };
  assert.deepEqual(guard.admit(entry), { accepted: true });
  assert.deepEqual(guard.admit(entry), { accepted: false, reason: 'replay' });
  assert.deepEqual(guard.admit({ ...entry, nonce: 'n2' }), { accepted: true });
  assert.deepEqual(guard.admit({ ...entry, sender: 'h2' }), { accepted: true });
  assert.deepEqual(guard.admit({ ...entry, messageType: 'share-keys' }), { accepted: true });
  assert.deepEqual(guard.admit({ ...entry, round: 4 }), { accepted: true });
});

test('messages for a round older than the current one are refused', () => {
  const guard = new ReplayGuard(0);
  const entry = { sender: 'h1', messageType: 'advertise-keys', round: 1, nonce: 'n' };
  assert.equal(guard.admit(entry).accepted, true);
  guard.advanceTo(2);
  assert.equal(guard.currentRound, 2);
  // A replay of round 1 after round 2 began: stale, even with a fresh nonce.
  assert.deepEqual(guard.admit(entry), { accepted: false, reason: 'stale-round' });
  assert.deepEqual(guard.admit({ ...entry, nonce: 'fresh' }), { accepted: false, reason: 'stale-round' });
  assert.deepEqual(guard.admit({ ...entry, round: 2 }), { accepted: true });
  // Never moves backwards.
  guard.advanceTo(1);
  assert.equal(guard.currentRound, 2);
  assert.deepEqual(guard.admit({ ...entry, round: 2 }), { accepted: false, reason: 'replay' });
});

test('ambiguous concatenations are distinct entries', () => {
  const guard = new ReplayGuard();
  assert.equal(guard.admit({ sender: 'ab', messageType: 'c', round: 0, nonce: '' }).accepted, true);
  assert.equal(guard.admit({ sender: 'a', messageType: 'bc', round: 0, nonce: '' }).accepted, true);
  assert.throws(() => guard.admit({ sender: '', messageType: 'x', round: 0, nonce: '' }));
  assert.throws(() => guard.admit({ sender: 'h', messageType: 'x', round: -1, nonce: '' }));
});
