import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { checkpointSignatureValid, publicKeyFromPem, verifyEventSelection, verifySignature, type Checkpoint, type CustodyEvent } from '../storage/custody-chain.ts';
import type { InclusionProof } from '../storage/custody-ledger.service.ts';
import { leafHash, verifyInclusion } from '../storage/merkle-tree.ts';
import { BagFormatError, bagInfoValue, parseBagInfo, parseManifest, PAYLOAD_MANIFEST, SIGNATURE_FILE, TAG_MANIFEST } from './bagit-format.ts';
import { CHECKPOINT_FILE, PACKAGE_FORMAT, PACKAGE_FORMATS_WITHOUT_PROOFS } from './case-export.service.ts';

/** A bag as files: a folder on a disk the legal office received, or a .zip of one. */
export interface PackageSource {
  readonly name: string;
  /** Regular files, relative to the bag's root, '/'-separated; anything else is `irregular`. */
  list(): Promise<{ files: Array<{ path: string; size: number }>; irregular: string[] }>;
  readText(path: string): Promise<string>;
  sha256(path: string): Promise<string>;
}

export type PackageProblemCode =
  | 'not-a-bag'
  | 'bad-format'
  | 'missing-file'
  | 'unlisted-file'
  | 'checksum-mismatch'
  | 'oxum-mismatch'
  | 'bad-package-signature'
  | 'untrusted-key'
  | 'custody-event'
  | 'custody-count'
  /** An event without an inclusion proof, a proof that does not lead to the signed checkpoint, or a checkpoint not signed. */
  | 'custody-proof'
  | 'record-mismatch';

export interface PackageProblem {
  code: PackageProblemCode;
  /** The file the problem is in, relative to the bag. */
  file: string;
  detail: string;
}

export interface PackageVerification {
  ok: boolean;
  caseNumber: string | null;
  exportId: string | null;
  items: number;
  documents: number;
  events: number;
  payloadFiles: number;
  payloadBytes: number;
  signedBy: string | null;
  problems: PackageProblem[];
}

interface PackageRecord {
  file: string;
  sha256: string;
  size: number;
  custodyFile: string;
  custodyEvents: number;
  proofFile?: string;
}
interface PackageItem extends PackageRecord {
  evidenceId: string;
}
interface PackageDocument extends PackageRecord {
  documentId: string;
}

/**
 * `evidock verify-package`: everything `bagit.py --validate` checks (declaration, payload and
 * tag manifests, Payload-Oxum, no file added or missing), and what only evidock knows: the
 * Ed25519 signature over the tag manifest, each custody event's hash and signature, that no
 * event was taken out of a record's file, and that each original is the file its ACQUIRED
 * event hashed off the recorder. Every problem is reported, each naming its file.
 */
export async function verifyPackage(source: PackageSource, options: { trustedKeyIds?: ReadonlySet<string> } = {}): Promise<PackageVerification> {
  const problems: PackageProblem[] = [];
  const add = (code: PackageProblemCode, file: string, detail: string) => problems.push({ code, file, detail });
  const result: PackageVerification = { ok: false, caseNumber: null, exportId: null, items: 0, documents: 0, events: 0, payloadFiles: 0, payloadBytes: 0, signedBy: null, problems };

  const { files, irregular } = await source.list();
  for (const path of irregular) add('bad-format', path, 'not a regular file (a link or a device)');
  const sizes = new Map(files.map((f) => [f.path, f.size]));
  if (!sizes.has('bagit.txt')) {
    add('not-a-bag', 'bagit.txt', 'missing: not a BagIt bag, or an export that did not finish');
    return result;
  }
  const declaration = await source.readText('bagit.txt');
  if (!/^BagIt-Version: 1\.0\r?$/m.test(declaration) || !/^Tag-File-Character-Encoding: UTF-8\r?$/m.test(declaration)) {
    add('bad-format', 'bagit.txt', 'does not declare BagIt-Version 1.0 with UTF-8 tag files');
  }

  const readManifest = async (file: string): Promise<Map<string, string> | null> => {
    if (!sizes.has(file)) {
      add('missing-file', file, 'missing');
      return null;
    }
    try {
      return parseManifest(file, await source.readText(file));
    } catch (error) {
      if (!(error instanceof BagFormatError)) throw error;
      add('bad-format', file, error.message);
      return null;
    }
  };
  const checkListed = async (manifestFile: string, listed: Map<string, string>) => {
    for (const [path, expected] of listed) {
      if (!sizes.has(path)) add('missing-file', path, `listed in ${manifestFile} but not in the package`);
      else if ((await source.sha256(path)) !== expected) add('checksum-mismatch', path, `SHA-256 differs from ${manifestFile}: the file was changed`);
    }
  };

  // Payload.
  const payload = await readManifest(PAYLOAD_MANIFEST);
  const payloadFiles = files.filter((f) => f.path.startsWith('data/'));
  result.payloadFiles = payloadFiles.length;
  result.payloadBytes = payloadFiles.reduce((n, f) => n + f.size, 0);
  if (payload) {
    for (const path of payload.keys()) if (!path.startsWith('data/')) add('bad-format', PAYLOAD_MANIFEST, `lists ${path}, outside data/`);
    for (const f of payloadFiles) if (!payload.has(f.path)) add('unlisted-file', f.path, `in data/ but not in ${PAYLOAD_MANIFEST}: added after export`);
    await checkListed(PAYLOAD_MANIFEST, payload);
  }
  let info: Array<[string, string]> = [];
  if (!sizes.has('bag-info.txt')) add('missing-file', 'bag-info.txt', 'missing');
  else {
    try {
      info = parseBagInfo(await source.readText('bag-info.txt'));
    } catch (error) {
      if (!(error instanceof BagFormatError)) throw error;
      add('bad-format', 'bag-info.txt', error.message);
    }
  }
  const oxum = bagInfoValue(info, 'Payload-Oxum');
  if (oxum !== undefined && oxum !== `${result.payloadBytes}.${result.payloadFiles}`) {
    add('oxum-mismatch', 'bag-info.txt', `Payload-Oxum ${oxum}, the payload holds ${result.payloadBytes} bytes in ${result.payloadFiles} files`);
  }

  // Tag files and the signature over them.
  const tags = await readManifest(TAG_MANIFEST);
  if (tags) {
    for (const path of tags.keys()) if (path.startsWith('data/')) add('bad-format', TAG_MANIFEST, `lists ${path}, a payload file`);
    for (const f of files) {
      if (f.path.startsWith('data/') || f.path === TAG_MANIFEST || f.path === SIGNATURE_FILE) continue;
      if (!tags.has(f.path)) add('unlisted-file', f.path, `not in ${TAG_MANIFEST}: added after export`);
    }
    await checkListed(TAG_MANIFEST, tags);
  }
  const keys = await readKeys(source, sizes, add);
  if (tags) await checkSignature(source, sizes, keys, options.trustedKeyIds, result, add);

  // The records and their custody.
  if (!sizes.has('data/evidence.json')) {
    add('missing-file', 'data/evidence.json', 'missing: the records of the package are unknown');
  } else {
    const manifest = await readJson<{ format?: string; caseNumber?: string; exportId?: string; items?: PackageItem[]; documents?: PackageDocument[] }>(source, 'data/evidence.json', add);
    if (manifest) {
      const withProofs = manifest.format === PACKAGE_FORMAT;
      if (!withProofs && !PACKAGE_FORMATS_WITHOUT_PROOFS.includes(String(manifest.format))) add('bad-format', 'data/evidence.json', `format ${String(manifest.format)}, expected ${PACKAGE_FORMAT}`);
      const checkpoint = withProofs ? await readCheckpoint(source, payload, keys, options.trustedKeyIds, add) : null;
      result.caseNumber = manifest.caseNumber ?? null;
      result.exportId = manifest.exportId ?? null;
      const items = manifest.items ?? [];
      const documents = manifest.documents ?? [];
      result.items = items.length;
      result.documents = documents.length;
      const proofs = withProofs ? { checkpoint } : null;
      for (const item of items) result.events += await checkRecord(source, payload, keys, item, item.evidenceId, add, proofs);
      for (const doc of documents) result.events += await checkRecord(source, payload, keys, doc, doc.documentId, add, proofs);
    }
  }

  result.ok = problems.length === 0;
  return result;
}

type Add = (code: PackageProblemCode, file: string, detail: string) => void;

async function readJson<T>(source: PackageSource, file: string, add: Add): Promise<T | null> {
  try {
    return JSON.parse(await source.readText(file)) as T;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    add('bad-format', file, `not JSON: ${error.message}`);
    return null;
  }
}

async function readKeys(source: PackageSource, sizes: ReadonlyMap<string, number>, add: Add): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  if (!sizes.has('public-keys.json')) {
    add('missing-file', 'public-keys.json', 'missing: no signature can be checked');
    return keys;
  }
  const listed = await readJson<Array<{ keyId: string; publicKeyPem: string }>>(source, 'public-keys.json', add);
  for (const k of listed ?? []) {
    try {
      keys.set(k.keyId, publicKeyFromPem(k.publicKeyPem));
    } catch {
      add('bad-format', 'public-keys.json', `key ${k.keyId} is not a PEM public key`);
    }
  }
  return keys;
}

async function checkSignature(
  source: PackageSource,
  sizes: ReadonlyMap<string, number>,
  keys: ReadonlyMap<string, KeyObject>,
  trusted: ReadonlySet<string> | undefined,
  result: PackageVerification,
  add: Add,
): Promise<void> {
  if (!sizes.has(SIGNATURE_FILE)) {
    add('missing-file', SIGNATURE_FILE, 'missing: the package is not signed');
    return;
  }
  const sig = await readJson<{ signs?: string; keyId?: string; signature?: string }>(source, SIGNATURE_FILE, add);
  if (!sig) return;
  const hash = createHash('sha256').update(Buffer.from(await source.readText(TAG_MANIFEST), 'utf8')).digest('hex');
  const key = sig.keyId ? keys.get(sig.keyId) : undefined;
  if (sig.signs !== TAG_MANIFEST || !sig.keyId || !sig.signature) add('bad-format', SIGNATURE_FILE, `does not sign ${TAG_MANIFEST} with a key id and a signature`);
  else if (!key) add('bad-package-signature', SIGNATURE_FILE, `signed by key ${sig.keyId}, which is not in public-keys.json`);
  else if (!verifySignature(hash, sig.signature, key)) add('bad-package-signature', SIGNATURE_FILE, `the signature over ${TAG_MANIFEST} does not verify with key ${sig.keyId}: the package was changed after export`);
  else result.signedBy = sig.keyId;
  if (trusted && sig.keyId && !trusted.has(sig.keyId)) add('untrusted-key', SIGNATURE_FILE, `signed by key ${sig.keyId}, not one of the trusted keys given`);
}

/** The signed tree head the package's inclusion proofs lead to, if it is there and signed by a key of the package. */
async function readCheckpoint(
  source: PackageSource,
  payload: ReadonlyMap<string, string> | null,
  keys: ReadonlyMap<string, KeyObject>,
  trusted: ReadonlySet<string> | undefined,
  add: Add,
): Promise<Checkpoint | null> {
  if (!payload?.has(CHECKPOINT_FILE)) {
    add('missing-file', CHECKPOINT_FILE, 'missing: the inclusion proofs of the custody events cannot be checked');
    return null;
  }
  const checkpoint = await readJson<Checkpoint>(source, CHECKPOINT_FILE, add);
  if (!checkpoint) return null;
  if (!checkpointSignatureValid(checkpoint, keys)) {
    add('custody-proof', CHECKPOINT_FILE, `the checkpoint of tree size ${checkpoint.treeSize} is not signed by key ${checkpoint.keyId} of public-keys.json`);
    return null;
  }
  if (trusted && !trusted.has(checkpoint.keyId)) add('untrusted-key', CHECKPOINT_FILE, `signed by key ${checkpoint.keyId}, not one of the trusted keys given`);
  return checkpoint;
}

/** Each event of a record leads, by its inclusion proof, to the signed checkpoint's root: it is in the ledger, in that place. */
async function checkProofs(source: PackageSource, payload: ReadonlyMap<string, string> | null, record: PackageRecord, events: readonly CustodyEvent[], checkpoint: Checkpoint, add: Add): Promise<void> {
  const file = record.proofFile;
  if (!file || !payload?.has(file)) {
    add('missing-file', file ?? record.custodyFile, `the inclusion proofs of ${record.custodyFile} are missing`);
    return;
  }
  const proofs = await readJson<{ treeSize?: number; proofs?: InclusionProof[] }>(source, file, add);
  if (!proofs) return;
  if (proofs.treeSize !== checkpoint.treeSize) add('custody-proof', file, `proofs against a tree of ${String(proofs.treeSize)} leaves, the checkpoint has ${checkpoint.treeSize}`);
  const bySeq = new Map((proofs.proofs ?? []).map((p) => [p.seq, p]));
  for (const event of events) {
    const proof = bySeq.get(event.seq);
    if (!proof) add('custody-proof', file, `event ${event.seq} has no inclusion proof`);
    else if (!Array.isArray(proof.hashes) || !verifyInclusion(proof.leafIndex, checkpoint.treeSize, leafHash(event.hash), proof.hashes, checkpoint.rootHash)) {
      add('custody-proof', file, `event ${event.seq}: its inclusion proof does not lead to the root of the signed checkpoint (the event or the proof was changed)`);
    }
  }
}

/** One original or document: its file as listed, and its custody file whole and signed. Returns the events checked. */
async function checkRecord(
  source: PackageSource,
  payload: ReadonlyMap<string, string> | null,
  keys: ReadonlyMap<string, KeyObject>,
  record: PackageRecord,
  id: string,
  add: Add,
  proofs: { checkpoint: Checkpoint | null } | null,
): Promise<number> {
  const listed = payload?.get(record.file);
  if (payload && listed === undefined) add('missing-file', record.file, `record ${id} names a file the payload manifest does not list`);
  else if (listed !== undefined && listed !== record.sha256) add('record-mismatch', record.file, `record ${id} says SHA-256 ${record.sha256}, the manifest ${listed}`);
  if (!payload?.has(record.custodyFile)) {
    add('missing-file', record.custodyFile, `the custody events of ${id} are missing`);
    return 0;
  }
  const events = await readJson<CustodyEvent[]>(source, record.custodyFile, add);
  if (!events) return 0;
  if (events.length !== record.custodyEvents) {
    add('custody-count', record.custodyFile, `${record.custodyEvents} custody events exported for ${id}, ${events.length} present: an event was removed or added`);
  }
  for (const p of verifyEventSelection(events, keys)) add('custody-event', record.custodyFile, `event ${p.seq}: ${p.kind}: ${p.detail}`);
  if (proofs?.checkpoint) await checkProofs(source, payload, record, events, proofs.checkpoint, add);
  const origin = events.find((e) => e.type === 'ACQUIRED' || e.type === 'DOCUMENT_ADDED');
  if (!origin) add('custody-event', record.custodyFile, `${id} has no ACQUIRED or DOCUMENT_ADDED event`);
  else if (origin.details.sha256 !== record.sha256) add('record-mismatch', record.custodyFile, `${origin.type} event ${origin.seq} hashed ${String(origin.details.sha256)}, the package holds ${record.sha256}`);
  return events.length;
}
