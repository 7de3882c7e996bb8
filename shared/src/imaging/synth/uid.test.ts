import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticUid } from './uid.ts';

test('syntheticUid is deterministic, valid and label-sensitive', () => {
  const a = syntheticUid(7, 'h1', 3, 'PT', 12);
  assert.equal(a, syntheticUid(7, 'h1', 3, 'PT', 12));
  assert.notEqual(a, syntheticUid(8, 'h1', 3, 'PT', 12));
  assert.notEqual(a, syntheticUid(7, 'h1', 3, 'CT', 12));
  assert.notEqual(a, syntheticUid(7, 'h1', 3, 'PT', 13));
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const uid = syntheticUid(1, 'h2', i);
    // PS3.5 §9.1: digits and dots, no leading zero in a component, at most 64 characters.
    assert.match(uid, /^2\.25\.[1-9][0-9]*$/);
    assert.ok(uid.length <= 64);
    seen.add(uid);
  }
  assert.equal(seen.size, 2000);
});

test('syntheticUid encodes a version-8 RFC 9562 UUID', () => {
  const uid = syntheticUid(42, 'study');
  const hex = BigInt(uid.slice(5)).toString(16).padStart(32, '0');
  assert.equal(hex[12], '8');
  assert.ok(['8', '9', 'a', 'b'].includes(hex[16] ?? ''));
});
