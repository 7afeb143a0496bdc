import { createHash, generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { keyIdOf, sealEvent, signCheckpoint, signHash, type CustodyEvent, type CustodyEventInput } from '../storage/custody-chain.ts';
import { appendLeaves, EMPTY_FRONTIER, frontierRoot, inclusionProof, leafHash } from '../storage/merkle-tree.ts';
import { evidenceRow } from '../workers/media.fakes.ts';
import { parseManifest } from './bagit-format.ts';
import { bagName, CaseExportService, ExportIntegrityError, inParallel, safeExtension, type CaseExportDeps, type ExportTarget } from './case-export.service.ts';
import { verifyPackage, type PackageSource } from './package-verify.service.ts';
import { WatermarkRecipientError } from './watermark-text.ts';
import type { DerivativeRow } from '../storage/catalog.repository.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ORIGINAL = Buffer.from('the recording itself');

/** A strict in-memory ledger: real Ed25519 signatures and a real hash chain, nothing else. */
function ledger() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const chain: CustodyEvent[] = [];
  const append = (input: CustodyEventInput): CustodyEvent => {
    const prev = chain.at(-1);
    const event = sealEvent(
      {
        seq: chain.length + 1,
        at: new Date(Date.UTC(2026, 10, 21, 2, 0, chain.length)).toISOString(),
        workstationId: 'ws-1',
        type: input.type,
        actor: input.actor,
        evidenceId: input.evidenceId ?? null,
        sessionId: null,
        fileId: null,
        details: input.details,
        prevHash: prev?.hash ?? '0'.repeat(64),
        keyId,
      },
      privateKey,
    );
    chain.push(event);
    return event;
  };
  /** The chain as the ledger's Merkle tree (leaf i = event seq i + 1) and a checkpoint over all of it. */
  const inclusionProofs = async (seqs: readonly number[]) => {
    const leaves = chain.map((e) => leafHash(e.hash));
    const grown = appendLeaves(EMPTY_FRONTIER, leaves);
    const nodes = new Map(grown.completed.map((n) => [`${n.level}/${n.index}`, n.hash]));
    leaves.forEach((l, i) => nodes.set(`0/${i}`, l));
    const checkpoint = signCheckpoint({ treeSize: leaves.length, rootHash: frontierRoot(grown.frontier), timestamp: '2026-12-07T02:59:00.000Z', keyId }, privateKey);
    const proofs = seqs.map((seq) => ({ seq, leafIndex: seq - 1, hashes: inclusionProof(seq - 1, leaves.length, (level, index) => nodes.get(`${level}/${index}`)!) }));
    return { checkpoint, proofs };
  };
  return { keyId, publicKey, privateKey, chain, append, inclusionProofs };
}

function setup(storedBytes: Buffer) {
  const l = ledger();
  const item = evidenceRow({ size: ORIGINAL.length, sha256: sha(ORIGINAL) });
  l.append({ type: 'ACQUIRED', actor: { kind: 'workstation', id: 'ws-1' }, evidenceId: item.id, details: { sha256: item.sha256 } });
  l.append({ type: 'STORED', actor: { kind: 'workstation', id: 'ws-1' }, evidenceId: item.id, details: {} });
  l.append({ type: 'KEY_REGISTERED', actor: { kind: 'workstation', id: 'ws-2' }, details: {} });
  l.append({ type: 'VERIFIED', actor: { kind: 'workstation', id: 'ws-1' }, evidenceId: item.id, details: {} });
  const appended: CustodyEventInput[] = [];
  const deps: CaseExportDeps = {
    workstationId: 'ws-1',
    softwareAgent: 'evidock test',
    db: { transaction: (work) => work({ query: (() => Promise.reject(new Error('no SQL in this test'))) as never }) },
    catalog: { search: async () => [item], derivativesOf: async () => [] },
    cases: { documentsOf: async () => [] },
    ledger: {
      eventsFor: async (f) => l.chain.filter((e) => f.evidenceId !== undefined && e.evidenceId === f.evidenceId),
      publicKeys: async () => [{ keyId: l.keyId, workstationId: 'ws-1', publicKeyPem: l.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      inclusionProofs: l.inclusionProofs,
      append: async (_tx, input) => {
        appended.push(input);
        return l.append(input);
      },
      mirror: async () => undefined,
    },
    objects: { read: async () => Readable.from([storedBytes]) },
    signer: { keyId: l.keyId, signHash: (h) => signHash(h, l.privateKey) },
    custodyPdf: async (report) => Buffer.from(`%PDF custody report of ${report.caseNumber}: ${report.items.map((i) => `${i.evidenceId} ${i.events.length} events`).join(', ')}`),
    now: () => new Date('2026-12-07T03:00:00Z'),
  };
  return { deps, item, appended };
}

/** The export target and the package source over one map of files. */
function memoryBag(): ExportTarget & PackageSource & { files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  return {
    root: '/export',
    name: 'memory',
    files,
    async writeStream(rel, source) {
      const chunks: Buffer[] = [];
      for await (const c of source) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      files.set(rel, bytes);
      return { sha256: sha(bytes), size: bytes.length };
    },
    async writeText(rel, text) {
      files.set(rel, Buffer.from(text));
    },
    async list() {
      return { files: [...files].map(([path, b]) => ({ path, size: b.length })), irregular: [] };
    },
    async readText(path) {
      return files.get(path)!.toString('utf8');
    },
    async sha256(path) {
      return sha(files.get(path)!);
    },
  };
}

const codes = async (bag: PackageSource) => (await verifyPackage(bag)).problems.map((p) => `${p.code} ${p.file}`);

describe('CaseExportService', () => {
  it('stops at bytes from storage that are not the evidence, and records no export nor bag', async () => {
    const { deps, appended } = setup(Buffer.from('tampered'));
    const out = memoryBag();
    await expect(new CaseExportService(deps).export({ caseNumber: 'YB-1', by: 'u', reason: null, withProxies: false }, out)).rejects.toThrow(ExportIntegrityError);
    expect(appended).toEqual([]);
    expect(out.files.has('bagit.txt')).toBe(false);
  });

  it('writes a signed BagIt bag whose manifests list every file, bagit.txt last, then an EXPORTED event per item', async () => {
    const { deps, item, appended } = setup(ORIGINAL);
    const out = memoryBag();
    const result = await new CaseExportService(deps).export({ caseNumber: 'YB-1', by: 'wang', reason: '移送\n法制审核', withProxies: false }, out);
    expect([...out.files.keys()].at(-1)).toBe('bagit.txt');
    const payload = parseManifest('m', out.files.get('manifest-sha256.txt')!.toString());
    expect([...payload.keys()].sort()).toEqual(
      [`data/custody/${item.id}.json`, `data/custody/${item.id}.proofs.json`, 'data/ledger-checkpoint.json', 'data/evidence.json', `data/originals/${item.id}.mp4`].sort(),
    );
    expect(await verifyPackage(out)).toMatchObject({ ok: true, events: 3, problems: [] });
    expect(payload.get(`data/originals/${item.id}.mp4`)).toBe(item.sha256);
    const info = out.files.get('bag-info.txt')!.toString();
    expect(info).toContain(`Payload-Oxum: ${result.payloadOxum}\n`);
    expect(info).toContain('Reason: 移送 法制审核\n');
    expect(info).toContain('Bag-Group-Identifier: YB-1\n');
    expect(appended.map((a) => a.type)).toEqual(['EXPORTED']);
    expect(appended[0]!.details).toMatchObject({ format: 'evidock-case-export/3', tagManifestSha256: sha(out.files.get('tagmanifest-sha256.txt')!) });
    expect(out.files.get('custody-report.html')!.toString()).toContain('3 / 3 有效 valid');
    // The PDF renderer was given the report's content, and its bytes are a tag file like the HTML page.
    const pdf = out.files.get('custody-report.pdf')!;
    expect(pdf.toString()).toBe(`%PDF custody report of YB-1: ${item.id} 3 events`);
    const tagged = parseManifest('t', out.files.get('tagmanifest-sha256.txt')!.toString());
    expect(tagged.get('custody-report.pdf')).toBe(sha(pdf));
    expect(tagged.get('custody-report.html')).toBe(sha(out.files.get('custody-report.html')!));
    expect(await verifyPackage(out)).toMatchObject({ ok: true, items: 1, events: 3, signedBy: deps.signer.keyId, problems: [] });
  });

  it('names what was changed: a byte of a video, a removed custody event, an added file, a forged signature', async () => {
    const { deps, item } = setup(ORIGINAL);
    const fresh = async () => {
      const bag = memoryBag();
      await new CaseExportService(deps).export({ caseNumber: 'YB-1', by: 'wang', reason: null, withProxies: false }, bag);
      return bag;
    };
    const video = `data/originals/${item.id}.mp4`;
    const custody = `data/custody/${item.id}.json`;

    const flipped = await fresh();
    flipped.files.get(video)![0]! ^= 1;
    expect(await codes(flipped)).toEqual([`checksum-mismatch ${video}`]);

    // An event taken out and the manifests recomputed by whoever did it: the count and the signature say so.
    const removed = await fresh();
    const events = JSON.parse(removed.files.get(custody)!.toString()) as CustodyEvent[];
    removed.files.set(custody, Buffer.from(JSON.stringify(events.filter((e) => e.type !== 'STORED'))));
    const reseal = (bag: typeof removed) => {
      const lines = [...bag.files].filter(([p]) => p.startsWith('data/')).map(([p, b]) => ({ path: p, sha256: sha(b) }));
      bag.files.set('manifest-sha256.txt', Buffer.from(lines.map((l) => `${l.sha256}  ${l.path}\n`).join('')));
      const tags = [...bag.files].filter(([p]) => !p.startsWith('data/') && p !== 'tagmanifest-sha256.txt' && p !== 'signature.json');
      bag.files.set('tagmanifest-sha256.txt', Buffer.from(tags.map(([p, b]) => `${sha(b)}  ${p}\n`).join('')));
    };
    reseal(removed);
    expect(await codes(removed)).toEqual(['oxum-mismatch bag-info.txt', 'bad-package-signature signature.json', `custody-count ${custody}`]);

    // An inclusion proof changed, manifests recomputed: the event no longer leads to the signed root.
    const proofs = `data/custody/${item.id}.proofs.json`;
    const forged = await fresh();
    const proofBody = JSON.parse(forged.files.get(proofs)!.toString()) as { proofs: Array<{ hashes: string[] }> };
    proofBody.proofs[0]!.hashes[0] = proofBody.proofs[0]!.hashes[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    forged.files.set(proofs, Buffer.from(JSON.stringify(proofBody)));
    reseal(forged);
    expect(await codes(forged)).toEqual(expect.arrayContaining(['bad-package-signature signature.json', `custody-proof ${proofs}`]));

    const added = await fresh();
    added.files.set('data/originals/extra.mp4', Buffer.from('planted'));
    expect(await codes(added)).toEqual(['unlisted-file data/originals/extra.mp4', 'oxum-mismatch bag-info.txt']);

    const unfinished = await fresh();
    unfinished.files.delete('bagit.txt');
    expect(await codes(unfinished)).toEqual(['not-a-bag bagit.txt']);
  });

  it('adds a watermarked copy of each video proxy for a recipient, in the manifests and evidence.json, named in the EXPORTED event', async () => {
    const { deps, item, appended } = setup(ORIGINAL);
    const proxy = Buffer.from('the proxy');
    const derivative = (kind: string, objectKey: string, contentType: string, bytes: Buffer): DerivativeRow => ({
      id: objectKey, evidenceId: item.id, kind, objectKey, contentType, sha256: sha(bytes), size: bytes.length, partial: false,
      width: null, height: null, durationSeconds: null, tool: 'ffmpeg', toolVersion: '5.1', arguments: [], createdAt: new Date('2026-11-21T03:00:00Z'),
    });
    const burned: Array<{ proxy: string; lines: readonly string[] }> = [];
    const stored = new Map([['originals', ORIGINAL], ['p.mp4', proxy]]);
    const bag = memoryBag();
    const result = await new CaseExportService({
      ...deps,
      catalog: { search: async () => [item], derivativesOf: async () => [derivative('proxy', 'p.mp4', 'video/mp4', proxy), derivative('poster-jpeg', 'p.jpg', 'image/jpeg', Buffer.from('x'))] },
      objects: { read: async (role, key) => Readable.from([stored.get(role === 'originals' ? 'originals' : key)!]) },
      watermarker: {
        async burnIn(source, lines, write) {
          const chunks: Buffer[] = [];
          for await (const c of source) chunks.push(c as Buffer);
          burned.push({ proxy: Buffer.concat(chunks).toString(), lines });
          return write(Readable.from([Buffer.from(`marked ${Buffer.concat(chunks).toString()}`)]));
        },
        version: async () => 'ffmpeg 5.1',
      },
    }).export({ caseNumber: 'YB-1', by: 'wang', reason: '复制给当事人', withProxies: false, watermark: '张三\n（当事人）' }, bag);

    expect(burned).toEqual([{ proxy: 'the proxy', lines: ['复制件 · 案件 YB-1 · 提供给 张三 （当事人） · 2026-12-07', 'COPY · case YB-1 · for 张三 （当事人） · 2026-12-07'] }]);
    expect(result).toMatchObject({ proxies: 1, watermarked: 1 });
    const marked = `data/watermarked/${item.id}.mp4`;
    expect(bag.files.get(marked)!.toString()).toBe('marked the proxy');
    expect(bag.files.get(`data/originals/${item.id}.mp4`)).toEqual(ORIGINAL);
    const payload = parseManifest('m', bag.files.get('manifest-sha256.txt')!.toString());
    expect(payload.get(marked)).toBe(sha('marked the proxy'));
    expect(payload.get(`data/proxies/${item.id}.mp4`)).toBe(sha(proxy));
    const manifest = JSON.parse(bag.files.get('data/evidence.json')!.toString()) as { watermark: unknown; items: Array<{ derivatives: unknown[] }> };
    expect(manifest.watermark).toEqual({ recipient: '张三 （当事人）', date: '2026-12-07', text: burned[0]!.lines });
    expect(manifest.items[0]!.derivatives).toEqual([
      expect.objectContaining({ kind: 'proxy', file: `data/proxies/${item.id}.mp4` }),
      { kind: 'watermarked-proxy', file: marked, sha256: sha('marked the proxy'), size: 16, from: `data/proxies/${item.id}.mp4`, watermark: { recipient: '张三 （当事人）', caseNumber: 'YB-1', date: '2026-12-07', text: burned[0]!.lines }, tool: 'ffmpeg 5.1' },
    ]);
    expect(bag.files.get('bag-info.txt')!.toString()).toContain('Watermark-Recipient: 张三 （当事人）\n');
    expect(bag.files.get('custody-report.html')!.toString()).toContain('<th>水印副本提供给 Watermarked for</th><td>张三 （当事人）</td>');
    expect(appended.map((a) => a.details)).toEqual([expect.objectContaining({ recipient: '张三 （当事人）', watermarked: [marked], withProxies: true })]);
    expect(await verifyPackage(bag)).toMatchObject({ ok: true, problems: [] });
  });

  it('a custody report that cannot be rendered stops the export: no bagit.txt, nothing recorded', async () => {
    const { deps, appended } = setup(ORIGINAL);
    const bag = memoryBag();
    const custodyPdf = async () => Promise.reject(new Error('cannot use the font /nope.ttc: ENOENT'));
    await expect(new CaseExportService({ ...deps, custodyPdf }).export({ caseNumber: 'YB-1', by: 'wang', reason: null, withProxies: false }, bag)).rejects.toThrow('ENOENT');
    expect(bag.files.has('bagit.txt')).toBe(false);
    expect(bag.files.has('signature.json')).toBe(false);
    expect(appended).toEqual([]);
  });

  it('refuses a recipient that prints as nothing before writing a byte or recording anything', async () => {
    const { deps, appended } = setup(ORIGINAL);
    const bag = memoryBag();
    const watermarker = { burnIn: async () => Promise.reject(new Error('not reached')), version: async () => 'x' };
    await expect(new CaseExportService({ ...deps, watermarker }).export({ caseNumber: 'YB-1', by: 'wang', reason: null, withProxies: false, watermark: '\u202E\n ' }, bag)).rejects.toThrow(
      WatermarkRecipientError,
    );
    expect([...bag.files.keys()]).toEqual([]);
    expect(appended).toEqual([]);
  });

  it('refuses a package signed by a key that is not trusted', async () => {
    const { deps } = setup(ORIGINAL);
    const bag = memoryBag();
    await new CaseExportService(deps).export({ caseNumber: 'YB-1', by: 'wang', reason: null, withProxies: false }, bag);
    // The package's signature and the ledger checkpoint's, both by that key.
    expect((await verifyPackage(bag, { trustedKeyIds: new Set(['0000000000000000']) })).problems.map((p) => `${p.code} ${p.file}`)).toEqual([
      'untrusted-key signature.json',
      'untrusted-key data/ledger-checkpoint.json',
    ]);
    expect((await verifyPackage(bag, { trustedKeyIds: new Set([deps.signer.keyId]) })).ok).toBe(true);
  });
});

describe('bagName', () => {
  it.each([
    ['深医保罚〔2026〕12号', '深医保罚〔2026〕12号-abcdef01'],
    ['YB/2026:12?', 'YB_2026_12_-abcdef01'],
    ['..hidden', '_hidden-abcdef01'],
  ])('%j → %j', (n, out) => expect(bagName(n, 'abcdef01-2345')).toBe(out));
});

describe('safeExtension', () => {
  it.each([
    ['ZFY_0001.MP4', '.mp4'],
    ['photo.jpeg', '.jpeg'],
    ['evil\n..\\x.MP4', '.mp4'],
    ['../../etc/passwd', ''],
    ['noext', ''],
    ['a.tar.gz/../..', ''],
  ])('%j → %j', (name, ext) => expect(safeExtension(name)).toBe(ext));
});

describe('inParallel', () => {
  it('keeps the order of the items and at most `limit` at work', async () => {
    let busy = 0;
    let most = 0;
    const out = await inParallel([30, 10, 20, 0, 5], 2, async (ms) => {
      most = Math.max(most, ++busy);
      await new Promise((r) => setTimeout(r, ms));
      busy--;
      return ms * 2;
    });
    expect(out).toEqual([60, 20, 40, 0, 10]);
    expect(most).toBe(2);
  });

  it('starts nothing after a failure and throws it once the work in flight is done', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = inParallel([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, n === 1 ? 1 : 20));
      settled++;
      if (n === 1) throw new Error('one failed');
      return n;
    });
    await expect(run).rejects.toThrow('one failed');
    expect(started).toEqual([1, 2]);
    expect(settled).toBe(2);
  });
});
