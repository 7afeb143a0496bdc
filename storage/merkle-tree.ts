import { createHash } from 'node:crypto';

/**
 * The custody ledger's Merkle tree, as RFC 9162 §2.1 (Certificate Transparency v2) defines
 * it: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right), the tree over n
 * leaves splits at the largest power of two below n. Pure: nothing here reads storage. The
 * ledger keeps the hash of every complete subtree (tlog's "stored hashes"), so a root or a
 * proof is a handful of those, never all leaves; `subtrees` says which ones.
 *
 * Hashes are lowercase hex, as the ledger stores them.
 */

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

/** Root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = createHash('sha256').digest('hex');

/** A leaf: the event's own hash (SHA-256 of its canonical body) is the entry. */
export function leafHash(eventHashHex: string): string {
  return createHash('sha256').update(LEAF_PREFIX).update(Buffer.from(eventHashHex, 'hex')).digest('hex');
}

export function nodeHash(leftHex: string, rightHex: string): string {
  return createHash('sha256').update(NODE_PREFIX).update(Buffer.from(leftHex, 'hex')).update(Buffer.from(rightHex, 'hex')).digest('hex');
}

/** A complete subtree: 2^level leaves starting at leaf index × 2^level. Level 0 is a leaf. */
export interface SubtreeId {
  level: number;
  index: number;
}

export interface StoredNode extends SubtreeId {
  hash: string;
}

/** Hash of a complete subtree, from wherever the caller keeps them. */
export type NodeLookup = (level: number, index: number) => string;

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) throw new RangeError(`bad leaf range [${start}, ${end})`);
}

/**
 * The complete subtrees whose hashes make up the hash of leaves [start, end), left to right.
 * Every range a proof or root needs starts at a multiple of its largest power of two, so it
 * splits into its size's binary digits, largest first.
 */
export function subtrees(start: number, end: number): SubtreeId[] {
  checkRange(start, end);
  const out: SubtreeId[] = [];
  let at = start;
  while (at < end) {
    let size = largestPowerOfTwoBelow(end - at + 1);
    while (at % size !== 0) size /= 2;
    const level = Math.log2(size);
    out.push({ level, index: at / size });
    at += size;
  }
  return out;
}

/** MTH(D[start:end]) from complete-subtree hashes (RFC 9162 §2.1.1). */
export function rangeHash(start: number, end: number, node: NodeLookup): string {
  const parts = subtrees(start, end).map((s) => node(s.level, s.index));
  let hash = parts.pop()!;
  while (parts.length > 0) hash = nodeHash(parts.pop()!, hash);
  return hash;
}

export function treeRoot(size: number, node: NodeLookup): string {
  return size === 0 ? EMPTY_ROOT : rangeHash(0, size, node);
}

/** The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size` (RFC 9162 §2.1.3.1), leaf first. */
export function inclusionRanges(index: number, size: number): Array<[number, number]> {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, start: number, end: number): Array<[number, number]> => {
    const n = end - start;
    if (n === 1) return [];
    const k = largestPowerOfTwoBelow(n);
    return m < k ? [...path(m, start, start + k), [start + k, end]] : [...path(m - k, start + k, end), [start, start + k]];
  };
  return path(index, 0, size);
}

/** The ranges whose hashes prove a tree of `second` leaves extends the tree of `first` (RFC 9162 §2.1.4.1). */
export function consistencyRanges(first: number, second: number): Array<[number, number]> {
  if (!Number.isSafeInteger(first) || first < 1 || first > second) throw new RangeError(`no consistency proof from ${first} to ${second}`);
  const sub = (m: number, start: number, end: number, whole: boolean): Array<[number, number]> => {
    const n = end - start;
    if (m === n) return whole ? [] : [[start, end]];
    const k = largestPowerOfTwoBelow(n);
    return m <= k ? [...sub(m, start, start + k, whole), [start + k, end]] : [...sub(m - k, start + k, end, false), [start, start + k]];
  };
  return sub(first, 0, second, true);
}

/** Every complete subtree the given ranges need, once each (one query fetches them). */
export function subtreesOf(ranges: ReadonlyArray<readonly [number, number]>): SubtreeId[] {
  const seen = new Map<string, SubtreeId>();
  for (const [a, b] of ranges) for (const s of subtrees(a, b)) seen.set(`${s.level}/${s.index}`, s);
  return [...seen.values()];
}

export function inclusionProof(index: number, size: number, node: NodeLookup): string[] {
  return inclusionRanges(index, size).map(([a, b]) => rangeHash(a, b, node));
}

export function consistencyProof(first: number, second: number, node: NodeLookup): string[] {
  return consistencyRanges(first, second).map(([a, b]) => rangeHash(a, b, node));
}

/** RFC 9162 §2.1.3.2: does `proof` put `leaf` at `index` of the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: string, proof: readonly string[], root: string): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r === root;
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (`second`, `secondRoot`) extends (`first`, `firstRoot`)? */
export function verifyConsistency(first: number, second: number, proof: readonly string[], firstRoot: string, secondRoot: string): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1 || first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot === secondRoot;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr === firstRoot && sr === secondRoot && sn === 0;
}

/**
 * The right edge of a tree: the hashes of `subtrees(0, size)`, all that appending needs. A
 * tree grows by `appendLeaves` from its frontier alone, emitting each complete subtree of
 * two or more leaves as it completes (the ones to store).
 */
export interface Frontier {
  size: number;
  /** Left to right, as `subtrees(0, size)` lists them. */
  nodes: StoredNode[];
}

export const EMPTY_FRONTIER: Frontier = { size: 0, nodes: [] };

export function frontierIds(size: number): SubtreeId[] {
  return size === 0 ? [] : subtrees(0, size);
}

export function appendLeaves(frontier: Frontier, leaves: readonly string[]): { frontier: Frontier; completed: StoredNode[] } {
  const stack = frontier.nodes.map((n) => ({ ...n }));
  const completed: StoredNode[] = [];
  let size = frontier.size;
  for (const leaf of leaves) {
    let top: StoredNode = { level: 0, index: size, hash: leaf };
    size += 1;
    while (stack.length > 0 && stack[stack.length - 1]!.level === top.level) {
      const left = stack.pop()!;
      top = { level: top.level + 1, index: left.index / 2, hash: nodeHash(left.hash, top.hash) };
      completed.push(top);
    }
    stack.push(top);
  }
  return { frontier: { size, nodes: stack }, completed };
}

export function frontierRoot(frontier: Frontier): string {
  if (frontier.size === 0) return EMPTY_ROOT;
  const parts = frontier.nodes.map((n) => n.hash);
  let hash = parts.pop()!;
  while (parts.length > 0) hash = nodeHash(parts.pop()!, hash);
  return hash;
}
