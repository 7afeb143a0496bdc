import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  consistencyProof,
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  frontierIds,
  frontierRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  subtrees,
  subtreesOf,
  inclusionRanges,
  consistencyRanges,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type NodeLookup,
} from './merkle-tree.ts';

/** RFC 9162 §2.1.1 as written: MTH over the leaves themselves, recursively. */
function naiveRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return createHash('sha256').digest('hex');
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH as written. */
function naivePath(m: number, leaves: readonly string[]): string[] {
  const n = leaves.length;
  if (n === 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? [...naivePath(m, leaves.slice(0, k)), naiveRoot(leaves.slice(k))] : [...naivePath(m - k, leaves.slice(k)), naiveRoot(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF as written. */
function naiveSubproof(m: number, leaves: readonly string[], whole: boolean): string[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [naiveRoot(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k
    ? [...naiveSubproof(m, leaves.slice(0, k), whole), naiveRoot(leaves.slice(k))]
    : [...naiveSubproof(m - k, leaves.slice(k), false), naiveRoot(leaves.slice(0, k))];
}

const entries = Array.from({ length: 64 }, (_, i) => createHash('sha256').update(`event ${i}`).digest('hex'));
const leaves = entries.map(leafHash);

/** Every complete subtree hash of the 64 leaves, as the ledger stores them (built by appending). */
function stored(count: number): { node: NodeLookup; nodes: Map<string, string> } {
  const nodes = new Map<string, string>();
  leaves.slice(0, count).forEach((l, i) => nodes.set(`0/${i}`, l));
  const { completed } = appendLeaves(EMPTY_FRONTIER, leaves.slice(0, count));
  for (const n of completed) nodes.set(`${n.level}/${n.index}`, n.hash);
  const node: NodeLookup = (level, index) => {
    const hash = nodes.get(`${level}/${index}`);
    if (!hash) throw new Error(`subtree ${level}/${index} not stored`);
    return hash;
  };
  return { node, nodes };
}

function flip(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}

describe('merkle tree (RFC 9162 §2.1)', () => {
  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes', () => {
    const e = 'ab'.repeat(32);
    expect(leafHash(e)).toBe(createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(e, 'hex')])).digest('hex'));
    expect(nodeHash(e, e)).toBe(createHash('sha256').update(Buffer.concat([Buffer.from([1]), Buffer.from(e, 'hex'), Buffer.from(e, 'hex')])).digest('hex'));
    expect(EMPTY_ROOT).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(treeRoot(0, () => 'x')).toBe(EMPTY_ROOT);
  });

  it('splits a range into complete subtrees, largest first', () => {
    expect(subtrees(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(subtrees(8, 12)).toEqual([{ level: 2, index: 2 }]);
    expect(subtreesOf([[0, 4], [0, 6]])).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ]);
    expect(() => subtrees(3, 3)).toThrow(RangeError);
  });

  it('grows by appending, from the frontier alone, to the naive root at every size 1..64', () => {
    let frontier = EMPTY_FRONTIER;
    for (let n = 1; n <= 64; n++) {
      // Batches of uneven sizes: 1, then 2, 3, ... leaves at once.
      const next = appendLeaves(frontier, leaves.slice(frontier.size, n));
      frontier = next.frontier;
      expect(frontier.size).toBe(n);
      expect(frontier.nodes.map(({ level, index }) => ({ level, index }))).toEqual(frontierIds(n));
      expect(frontierRoot(frontier)).toBe(naiveRoot(leaves.slice(0, n)));
      expect(treeRoot(n, stored(n).node)).toBe(naiveRoot(leaves.slice(0, n)));
    }
    expect(frontierRoot(EMPTY_FRONTIER)).toBe(EMPTY_ROOT);
    // 64 leaves complete 32 + 16 + ... + 1 = 63 subtrees of two or more.
    expect(appendLeaves(EMPTY_FRONTIER, leaves).completed).toHaveLength(63);
  });

  it('gives the inclusion proof of RFC 9162 for every leaf of every size 1..64, and verifies it', () => {
    for (let n = 1; n <= 64; n++) {
      const { node } = stored(n);
      const root = naiveRoot(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, node);
        expect(proof).toEqual(naivePath(m, leaves.slice(0, n)));
        expect(inclusionRanges(m, n)).toHaveLength(proof.length);
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
      }
    }
  });

  it('rejects a tampered inclusion proof, leaf, index, size or root', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 31, 33, 64]) {
      const { node } = stored(n);
      const root = naiveRoot(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, node);
        expect(verifyInclusion(m, n, flip(leaves[m]!), proof, root)).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, proof, flip(root))).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
        // The size is signed with the root: the same proof does not fit the next tree.
        expect(verifyInclusion(m, n + 1, leaves[m]!, proof, naiveRoot(leaves.slice(0, n + 1)))).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, [...proof, leaves[0]!], root)).toBe(false);
        if (proof.length > 0) {
          expect(verifyInclusion(m, n, leaves[m]!, proof.slice(1), root)).toBe(false);
          for (let i = 0; i < proof.length; i++) {
            const bad = [...proof];
            bad[i] = flip(bad[i]!);
            expect(verifyInclusion(m, n, leaves[m]!, bad, root)).toBe(false);
          }
        }
      }
      expect(verifyInclusion(n, n, leaves[0]!, [], root)).toBe(false);
      expect(verifyInclusion(-1, n, leaves[0]!, [], root)).toBe(false);
    }
  });

  it('gives the consistency proof of RFC 9162 for every pair 1 <= m <= n <= 64, and verifies it', () => {
    for (let n = 1; n <= 64; n++) {
      const { node } = stored(n);
      const second = naiveRoot(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, node);
        expect(proof).toEqual(naiveSubproof(m, leaves.slice(0, n), true));
        expect(consistencyRanges(m, n)).toHaveLength(proof.length);
        expect(verifyConsistency(m, n, proof, naiveRoot(leaves.slice(0, m)), second)).toBe(true);
      }
    }
  });

  it('rejects a tampered consistency proof, a root that was not extended, or sizes out of order', () => {
    for (const n of [2, 3, 7, 8, 9, 17, 64]) {
      const { node } = stored(n);
      const second = naiveRoot(leaves.slice(0, n));
      for (let m = 1; m < n; m++) {
        const first = naiveRoot(leaves.slice(0, m));
        const proof = consistencyProof(m, n, node);
        expect(verifyConsistency(m, n, proof, flip(first), second)).toBe(false);
        expect(verifyConsistency(m, n, proof, first, flip(second))).toBe(false);
        expect(verifyConsistency(m, n - 1, proof, first, naiveRoot(leaves.slice(0, n - 1)))).toBe(false);
        expect(verifyConsistency(m, n, [...proof, first], first, second)).toBe(false);
        for (let i = 0; i < proof.length; i++) {
          const bad = [...proof];
          bad[i] = flip(bad[i]!);
          expect(verifyConsistency(m, n, bad, first, second)).toBe(false);
        }
        // A tree whose first m leaves were rewritten does not extend the old one.
        const rewritten = [...leaves.slice(0, n)];
        rewritten[m - 1] = flip(rewritten[m - 1]!);
        expect(verifyConsistency(m, n, naiveSubproof(m, rewritten, true), first, naiveRoot(rewritten))).toBe(false);
      }
      expect(verifyConsistency(n, n, [], second, second)).toBe(true);
      expect(verifyConsistency(n, n, [], second, flip(second))).toBe(false);
      expect(verifyConsistency(0, n, [], EMPTY_ROOT, second)).toBe(false);
      expect(verifyConsistency(n, n - 1, [], second, second)).toBe(false);
    }
    expect(() => consistencyProof(0, 4, stored(4).node)).toThrow(RangeError);
  });
});
