import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bodyOf,
  canonicalJson,
  GENESIS_HASH,
  keyIdOf,
  sealEvent,
  verifyChain,
  type CustodyEvent,
  type CustodyEventBody,
} from './custody-chain.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = keyIdOf(publicKey);
const keys = new Map([[keyId, publicKey]]);

function chain(n: number): CustodyEvent[] {
  const events: CustodyEvent[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body: CustodyEventBody = {
      seq,
      at: new Date(Date.UTC(2026, 10, 22, 12, 0, seq)).toISOString(),
      workstationId: 'ws-1',
      type: 'ACQUIRED',
      actor: { kind: 'workstation', id: 'ws-1' },
      evidenceId: null,
      sessionId: null,
      fileId: null,
      details: { sha256: 'ab'.repeat(32), size: seq * 10, name: '执法记录_001.MP4' },
      prevHash: prev,
      keyId,
    };
    const event = sealEvent(body, privateKey);
    events.push(event);
    prev = event.hash;
  }
  return events;
}

describe('canonicalJson', () => {
  it('orders keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('refuses non-finite numbers rather than hashing "null"', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain', () => {
    expect(verifyChain(chain(5), keys)).toEqual([]);
  });

  it('names an edited event and nothing else', () => {
    const events = chain(4);
    events[2] = { ...events[2]!, details: { ...events[2]!.details, size: 1 } };
    expect(verifyChain(events, keys)).toEqual([{ seq: 3, kind: 'hash-mismatch', detail: expect.any(String) }]);
  });

  it('detects a deleted event as a gap and a broken link', () => {
    const events = chain(4);
    events.splice(1, 1);
    const kinds = verifyChain(events, keys).map((p) => `${p.seq}:${p.kind}`);
    expect(kinds).toEqual(['3:sequence-gap', '3:broken-link']);
  });

  it('detects a re-sealed forgery signed by another key', () => {
    const events = chain(2);
    const other = generateKeyPairSync('ed25519');
    const forged = sealEvent({ ...bodyOf(events[1]!), details: { forged: true } }, other.privateKey);
    events[1] = forged;
    expect(verifyChain(events, keys).map((p) => p.kind)).toEqual(['bad-signature']);
  });

  it('rejects events signed by an unregistered key', () => {
    expect(verifyChain(chain(1), new Map()).map((p) => p.kind)).toEqual(['unknown-key']);
  });
});
