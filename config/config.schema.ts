import { z } from 'zod';

/**
 * The one configuration schema of evidock. Every key is described, bounded and strict:
 * an unknown key is an error, because a misspelt safety option (say `clearAfterVerifed`)
 * silently falling back to a default is exactly how evidence gets lost.
 */

const port = z.number().int().min(1).max(65535);
const hostname = z.string().min(1).max(253);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');

const tlsSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Use TLS for this connection.'),
    caFile: z.string().min(1).optional().describe('PEM file with the CA that signed the server certificate.'),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Refuse servers whose certificate does not verify. Only turn off for a lab.'),
  })
  .strict()
  .default({});

export const deadlineSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('hours'),
        hours: z.number().int().min(1).max(24 * 30).describe('Hours from end of recording to verified storage (city rule: 24).'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('workingDays'),
        days: z.number().int().min(1).max(30).describe('Working days from end of recording to verified storage (province rule: 2).'),
        holidays: z.array(isoDate).max(400).default([]).describe('Public holidays (YYYY-MM-DD) that are not working days.'),
        workingWeekends: z
          .array(isoDate)
          .max(100)
          .default([])
          .describe('Weekend days that are working days (调休 make-up days), YYYY-MM-DD.'),
        timeZone: z.string().default('Asia/Shanghai').describe('IANA zone in which working days are counted.'),
      })
      .strict(),
  ])
  .describe('Transfer deadline (存储时限) that each recording is measured against.');

export const recorderRegistrationSchema = z
  .object({
    serial: z.string().min(1).max(64).describe('Recorder product serial (产品序号) as the device or its SDK reports it.'),
    officerId: z.string().min(1).max(32).optional().describe('Officer number (警号/执法证号) the recorder is assigned to.'),
    officerName: z.string().min(1).max(64).optional().describe('Name of the assigned officer.'),
    unitId: z.string().min(1).max(64).optional().describe('Unit number (单位编号).'),
    unitName: z.string().min(1).max(128).optional().describe('Unit name (单位名称).'),
  })
  .strict();

export const configSchema = z
  .object({
    workstationId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'letters, digits, - and _ only (it names queues and keys)')
      .describe('Name of this workstation; names its device queues, its ledger key and its custody events.'),
    locale: z.enum(['zh-CN', 'en']).default('zh-CN').describe('Language of operator-facing messages.'),
    dataDir: z.string().min(1).describe('Directory for local state (spool, keys, stack data). Created if missing.'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Minimum level of structured logs.'),
    logFile: z.string().min(1).optional().describe('Write structured JSON logs to this file instead of standard error.'),

    redis: z
      .object({
        host: hostname.default('127.0.0.1').describe('Redis host holding the BullMQ queues.'),
        port: port.default(6390).describe('Redis port.'),
        password: z.string().min(1).optional().describe('Redis password (never logged).'),
        db: z.number().int().min(0).max(15).default(0).describe('Redis database index.'),
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9:{}_-]{1,64}$/)
          .default('evidock')
          .describe('BullMQ key prefix. In cluster mode each queue gets its own hash tag {prefix:queue} (braces here are then refused), so queues spread over the masters.'),
        mode: z
          .enum(['single', 'cluster', 'sentinel'])
          .default('single')
          .describe('single: one Redis at host:port. cluster: a Redis Cluster reached through `nodes`. sentinel: the master named `name`, found through `sentinels` (followed across a failover).'),
        nodes: z
          .array(z.object({ host: hostname.describe('Cluster node host.'), port: port.describe('Cluster node port.') }).strict())
          .max(64)
          .default([])
          .describe('cluster mode: some nodes of the Redis Cluster (the client learns the others from them).'),
        sentinels: z
          .array(z.object({ host: hostname.describe('Sentinel host.'), port: port.describe('Sentinel port.') }).strict())
          .max(16)
          .default([])
          .describe('sentinel mode: the Sentinels that know the master.'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/)
          .default('evidock')
          .describe('sentinel mode: the master set name the Sentinels monitor.'),
        sentinelPassword: z
          .string()
          .min(1)
          .optional()
          .describe('sentinel mode: the Sentinels\' own password (their requirepass), when they have one; `password` is the data servers\'. Never logged.'),
        tls: tlsSchema.describe('TLS to Redis. In sentinel mode it covers the Sentinels and the master they name alike.'),
      })
      .strict()
      .superRefine((r, ctx) => {
        if (r.mode === 'cluster' && r.nodes.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['nodes'], message: 'cluster mode needs at least one node' });
        if (r.mode === 'cluster' && /[{}]/.test(r.prefix)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['prefix'], message: 'in cluster mode the prefix takes no braces: each queue gets its own hash tag' });
        if (r.mode === 'cluster' && r.db !== 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['db'], message: 'a Redis Cluster has only database 0' });
        if (r.mode === 'sentinel' && r.sentinels.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sentinels'], message: 'sentinel mode needs at least one sentinel' });
        if (r.mode !== 'sentinel' && r.sentinelPassword !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sentinelPassword'], message: 'only sentinel mode talks to Sentinels' });
      })
      .default({}),

    postgres: z
      .object({
        host: hostname.default('127.0.0.1').describe('PostgreSQL host of the catalog and ledger.'),
        port: port.default(5439).describe('PostgreSQL port.'),
        database: z.string().min(1).max(63).default('evidock').describe('Database name.'),
        user: z.string().min(1).max(63).default('evidock').describe('Database user.'),
        password: z.string().min(1).optional().describe('Database password (never logged).'),
        maxConnections: z.number().int().min(2).max(100).default(10).describe('Pool size per process.'),
        tls: tlsSchema,
      })
      .strict()
      .default({}),

    minio: z
      .object({
        endPoint: hostname.default('127.0.0.1').describe('S3/MinIO host. Any S3 server with object lock will do.'),
        port: port.default(9010).describe('S3 port.'),
        useSSL: z.boolean().default(false).describe('Use HTTPS to reach the object store.'),
        caFile: z.string().min(1).optional().describe('PEM CA for a self-signed object store certificate.'),
        accessKey: z.string().min(3).default('evidock').describe('Access key (never logged).'),
        secretKey: z.string().min(8).default('evidock-local-secret').describe('Secret key (never logged).'),
        region: z.string().min(1).default('us-east-1').describe('Region the buckets are created in.'),
        originalsBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,62}$/).default('evidock-originals').describe('Write-once bucket for original recordings.'),
        ledgerBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,62}$/).default('evidock-ledger').describe('Write-once bucket mirroring every custody event.'),
        derivativesBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,62}$/).default('evidock-derivatives').describe('Bucket for regenerable playback proxies and thumbnails.'),
        partSizeMiB: z
          .number()
          .int()
          .min(5)
          .max(512)
          .default(16)
          .describe('Multipart part size; bounds upload memory and fixes how the expected composite checksum and ETag are computed.'),
        partsInFlight: z
          .number()
          .int()
          .min(1)
          .max(16)
          .default(1)
          .describe(
            'Parts of one upload sent at once; the next part is read and hashed meanwhile. Memory: (this + 1) part buffers per upload. ' +
              'More helps on a high-latency link to the object store; on a local one, ingest.storeConcurrency uploads at once do the same for less memory per upload.',
          ),
        digestThreads: z
          .number()
          .int()
          .min(1)
          .max(16)
          .default(2)
          .describe('Worker threads hashing uploads (the SHA-256 of each file; with uploadChecksum md5 also the MD5 of each part) beside the sending; about one per core.'),
        uploadChecksum: z
          .enum(['crc32', 'md5'])
          .default('crc32')
          .describe(
            'What the server checks each uploaded part against, and what proves the stored object holds the bytes sent. ' +
              'crc32: an S3 additional checksum (x-amz-checksum-crc32 per part; the object keeps the composite), about 0.07 CPU-s per GiB. ' +
              'md5: Content-MD5 per part and the multipart ETag, about 1.5 CPU-s per GiB; for S3 servers without additional checksums. ' +
              'Either way the SHA-256 of the bytes sent must equal the acquired one.',
          ),
        signPayload: z
          .boolean()
          .default(false)
          .describe(
            'Over HTTP, also sign each upload body by its SHA-256 (SigV4 x-amz-content-sha256): one more SHA-256 pass on the client and on the server. ' +
              'Off: bodies are sent UNSIGNED-PAYLOAD with a signed CRC32 checksum or Content-MD5 (uploadChecksum) that the server checks. Over HTTPS bodies are never signed.',
          ),
      })
      .strict()
      .default({}),

    retention: z
      .object({
        mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).default('COMPLIANCE').describe('Object-lock mode of originals. COMPLIANCE: nobody, not even root, can delete before expiry.'),
        days: z
          .number()
          .int()
          .min(0)
          .max(36500)
          .default(3650)
          .describe(
            'Default retention the write-once buckets give every new object, in days: the floor that protects an original from its first byte, before its class is applied. 0 sets none (each object then has only its class retention, set right after it is recorded): only for test stacks whose purges must be seen.',
          ),
        unlinkedDays: z
          .number()
          .positive()
          .max(36500)
          .default(730)
          .describe('Class `unlinked`: a record in no case is kept this many days from its capture (fractions allowed, for tests).'),
        caseDays: z
          .number()
          .positive()
          .max(36500)
          .default(10950)
          .describe('Class `case`: a record of a case is kept until the case is archived plus this many days (30 years by default, the long-term period of the Archives Law). Records of a case marked major are kept permanently.'),
        purgeBatch: z.number().int().min(1).max(100000).default(10000).describe('At most this many expired records in one proposed purge run.'),
      })
      .strict()
      .default({}),

    ingest: z
      .object({
        hashes: z
          .array(z.enum(['sha256', 'sm3']))
          .min(1)
          .default(['sha256'])
          .refine((h) => h.includes('sha256'), 'sha256 is required: object keys derive from it')
          .describe('Digests computed while acquiring. SM3 is the national standard hash (GB/T 32905).'),
        clearAfterVerified: z
          .boolean()
          .default(true)
          .describe('Delete a recording from the recorder once its stored copy is verified and recorded (officers may not keep recordings).'),
        maxConcurrentAcquisitions: z.number().int().min(1).max(32).default(2).describe('Files read from recorders at once on this workstation; docked recorders share it fairly.'),
        storeConcurrency: z
          .number()
          .int()
          .min(1)
          .max(32)
          .default(4)
          .describe(
            'Uploads from the spool at once on this workstation. Each holds (minio.partsInFlight + 1) part buffers. ' +
              'Since parts carry CRC32 checksums an upload is bound by request latency, not by hashing, so more uploads keep the object store busier (8 recorders docked at once: 4 took ~11 % less time than 2).',
          ),
        checkpointSeconds: z
          .number()
          .int()
          .min(0)
          .max(3600)
          .default(10)
          .describe(
            'While a recording is copied, the spool is made durable (fsync, in the background) at most this often, so that after a power cut the copy resumes there instead of reading the whole recording again. ' +
              'Nothing depends on it for safety (the recorder keeps every recording until its stored copy is verified); forcing the spool to disk while the recorder is read made a copy take 1.4–2.2× as long.',
          ),
        syncSpoolBeforeUndock: z
          .boolean()
          .default(false)
          .describe(
            'Off: the spool copies not yet stored are fsynced the moment their recorder is undocked (while it is docked, it holds them itself), so a recorder that stays in its charging dock costs no second write of its footage. ' +
              'On: they are fsynced before the officer is told it is safe to undock, which closes the seconds after an undock in which a power cut would leave a recording waiting for its next docking; with recorder, spool and object store on one disk that flush cost 8 recorders docked at once about a sixth of their throughput.',
          ),
        readStallSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(60)
          .describe(
            'A recorder that gives no bytes for this long while a recording is copied is taken as hung: the acquisition ends as interrupted (the recording stays on the recorder, the spooled bytes are kept) and resumes at the next docking.',
          ),
        sessionLeaseSeconds: z
          .number()
          .int()
          .min(5)
          .max(3600)
          .default(30)
          .describe(
            'A docking is claimed by the process running its device jobs, which renews the claim every third of this. A claim not renewed for this long (its process was killed, its host lost power) lets the next process serving this workstation, or the next docking of the same recorder, take the docking over; on the same host a claim whose process has ended is taken over at once.',
          ),
        reconcileSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(30)
          .describe(
            'How often the daemon, and an `evidock import` that runs its own workers, queues the job for each unfinished file of its open dockings again from PostgreSQL (the record of where each file is), so that jobs Redis lost (a failover dropping acknowledged writes, a flushed Redis) do not leave a docking waiting for ever; a job that still exists is not duplicated (deterministic job ids).',
          ),
        spoolDir: z.string().min(1).optional().describe('Local spool (default: <dataDir>/spool). It is the backup until storage is verified.'),
        spoolMinFreeMiB: z.number().int().min(0).max(1024 * 1024).default(1024).describe('Below this much free space on the spool disk, acquisition pauses and an alarm is raised.'),
        spoolRetryDelaySeconds: z.number().int().min(1).max(3600).default(30).describe('How long a paused acquisition waits before looking at the spool disk again.'),
        attempts: z.number().int().min(1).max(1000).default(50).describe('Tries per job before it is left failed for an operator.'),
        backoffSeconds: z.number().min(0.1).max(600).default(2).describe('First retry delay; doubles each try, capped at 5 minutes.'),
        deadline: deadlineSchema.default({ kind: 'hours', hours: 24 }),
        recorderTimeZone: z
          .string()
          .min(1)
          .default('Asia/Shanghai')
          .refine((zone) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: zone });
              return true;
            } catch {
              return false;
            }
          }, 'not an IANA time zone')
          .describe('Time zone of the recorders\' clocks, in which times in file names are read.'),
        unlockPassword: z
          .string()
          .regex(/^[0-9A-Za-z]{6}$/)
          .optional()
          .describe('6-character password that switches GA/T 947 recorders to mass storage (SetMSDC). Never logged.'),
      })
      .strict()
      .default({}),

    media: z
      .object({
        metadataConcurrency: z.number().int().min(1).max(64).optional().describe('Metadata jobs at once per worker process (default: the number of cores).'),
        transcodeConcurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .optional()
          .describe('Sandboxed transcode jobs (proxy, thumbnails) at once per worker process (default: half the cores, at least 1).'),
        ffmpegPath: z.string().min(1).default('ffmpeg').describe('ffmpeg executable (Debian\'s by default).'),
        ffprobePath: z.string().min(1).default('ffprobe').describe('ffprobe executable.'),
        workDir: z.string().min(1).optional().describe('Scratch space for media jobs (default: <dataDir>/work).'),
        proxyMaxHeight: z.number().int().min(144).max(2160).default(720).describe('Playback proxies are scaled down to at most this height.'),
        proxyCrf: z.number().int().min(15).max(40).default(26).describe('x264 constant rate factor of proxies (lower is better and bigger).'),
        proxyPreset: z
          .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'])
          .default('veryfast')
          .describe('x264 preset of proxies: speed against size.'),
        audioBitrateKbps: z.number().int().min(32).max(320).default(96).describe('AAC bitrate of proxies and audio-only playback copies.'),
        storyboardIntervalSeconds: z.number().int().min(1).max(600).default(10).describe('One storyboard frame every this many seconds, for scrubbing.'),
        storyboardMaxFrames: z.number().int().min(1).max(1000).default(100).describe('At most this many storyboard frames; the interval widens for long recordings.'),
        storyboardTileWidth: z.number().int().min(64).max(640).default(160).describe('Width of one storyboard frame in pixels.'),
        posterWidth: z.number().int().min(160).max(3840).default(1280).describe('Width of poster frames and photo previews.'),
        earliestPlausibleCapture: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/)
          .default('2000-01-01')
          .describe('Capture times before this date mean the recorder clock was not set; the item is flagged.'),
        maxCaptureDriftHours: z
          .number()
          .min(1)
          .max(24 * 365)
          .default(72)
          .describe('Capture times this far from the docking (or in the future) are flagged as a suspect clock.'),
      })
      .strict()
      .default({}),

    watch: z
      .object({
        mountRoots: z.array(z.string().min(1)).max(16).default(['/media', '/run/media', '/mnt/evidock']).describe('Directories under which recorder volumes appear when mounted.'),
        depth: z.number().int().min(0).max(3).default(2).describe('How deep below a mount root a volume may appear (/media/<user>/<label> is 2).'),
        usbDetection: z.boolean().default(true).describe('Listen for USB attach/detach (optional native module); mount watching works without it.'),
        settleMs: z.number().int().min(0).max(60000).default(1500).describe('Wait after a volume appears before reading it, so the mount completes.'),
      })
      .strict()
      .default({}),

    recorders: z
      .array(recorderRegistrationSchema)
      .max(10000)
      .default([])
      .describe(
        'Recorders to register (serial → officer, unit), imported into the catalog\'s registry once, at start; afterwards `evidock recorder add|remove` and the API manage the registry. Unknown recorders are still ingested, flagged unregistered.',
      ),

    server: z
      .object({
        host: hostname.default('127.0.0.1').describe('Address `evidock serve` listens on. 127.0.0.1 unless the archive server is meant for the bureau\'s network (then with TLS, or behind nginx).'),
        port: port.default(8480).describe('Port of the archive server.'),
        tls: z
          .object({
            certFile: z.string().min(1).describe('PEM certificate (chain) the server presents.'),
            keyFile: z.string().min(1).describe('PEM private key of that certificate (never logged; the file must not be world-readable).'),
          })
          .strict()
          .optional()
          .describe('Serve HTTPS. Without it the server speaks plain HTTP (loopback, or behind a TLS-terminating proxy).'),
        trustProxy: z
          .union([z.boolean(), z.string().min(1), z.array(z.string().min(1)).max(32)])
          .default(false)
          .describe('Trust X-Forwarded-For/-Proto from these proxies (true: any; a string or list: addresses/CIDRs), for the client address in the access log and Secure cookies behind nginx.'),
        shutdownSeconds: z.number().min(1).max(600).default(10).describe('On SIGTERM, how long requests in flight may still finish before the server exits.'),
        requestTimeoutSeconds: z.number().int().min(1).max(3600).default(120).describe('A request (not a streamed download) that takes longer is cut off.'),
        dependencyTimeoutMs: z.number().int().min(100).max(60000).default(3000).describe('How long a request waits for PostgreSQL, Redis or MinIO before it answers 503 naming the one that did not answer.'),
        documentMaxMiB: z.number().int().min(1).max(10240).default(200).describe('Largest case document (PDF, scan, photo, office file) an upload may carry.'),
        sessionIdleMinutes: z.number().int().min(1).max(24 * 60).default(30).describe('A login session unused this long ends.'),
        sessionMaxHours: z.number().int().min(1).max(24 * 7).default(12).describe('A login session ends this long after the login, however busy.'),
        loginMaxFailures: z.number().int().min(1).max(100).default(5).describe('Wrong passwords in a row that lock an account.'),
        lockoutMinutes: z.number().int().min(1).max(24 * 60).default(15).describe('How long a locked account stays locked.'),
        loginRatePerMinute: z.number().int().min(1).max(10000).default(20).describe('Login attempts one client address may make per minute (shared by all servers through Redis).'),
        dockBoardRefreshMs: z.number().int().min(200).max(60000).default(1000).describe('How often the live dock board (server-sent events) reads the dockings for its open pages; a change is pushed at the next read.'),
        webRoot: z
          .string()
          .min(1)
          .optional()
          .describe('Folder of the built web interface (index.html and assets/). Default: dist/web of this checkout, where `npm run build` puts it.'),
        passwordMinLength: z.number().int().min(8).max(128).default(12).describe('Shortest password accepted; it must also mix three of: lower case, upper case, digits, other characters.'),
      })
      .strict()
      .default({}),

    ledger: z
      .object({
        integrateSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(10)
          .describe(
            'How often a long-running process (daemon, workers, serve) integrates committed custody events into the Merkle tree and signs a checkpoint; each commit also integrates about a second later.',
          ),
      })
      .strict()
      .default({}),

    access: z
      .object({
        rules: z
          .record(
            z.enum(['officer', 'custodian', 'supervisor', 'auditor', 'case-system', 'admin']),
            z.record(z.enum(['view', 'play', 'download', 'export']), z.enum(['allow', 'approval', 'deny'])),
          )
          .default({})
          .describe(
            'Overrides of which role may view, play, download or export the items of its own units without an approved access request (allow), only with one (approval), or not at all (deny). The defaults follow the rules: see archive/access-policy.ts.',
          ),
        ledgerEvents: z
          .enum(['batched', 'immediate'])
          .default('batched')
          .describe(
            'How item views, playbacks and downloads reach each item\'s signed custody chain. batched: the access record is written at once and a sealer adds one ACCESSED event per item every sealSeconds, naming the records and their hash; immediate: one ACCESSED event per access, in the request.',
          ),
        sealSeconds: z.number().int().min(1).max(3600).default(5).describe('How often access records are sealed into the custody ledger (batched).'),
        maxApprovalDays: z.number().int().min(1).max(3650).default(90).describe('Longest an approved access request may last.'),
      })
      .strict()
      .default({}),

    sharing: z
      .object({
        maxDays: z.number().int().min(1).max(365).default(30).describe('Longest a share link may stay open (`share create --expires`); a share backed by an approval also ends with that approval.'),
        defaultDays: z.number().int().min(1).max(365).default(7).describe('How long a share link stays open when its creator names no expiry (never more than maxDays).'),
        wrongTokenPerMinute: z
          .number()
          .int()
          .min(1)
          .max(10000)
          .default(20)
          .describe('Requests with a share token that names no share one client address may make per minute on the public /share routes (429 after that); requests with a valid token are not counted, so playback and seeking are never limited.'),
        baseUrl: z
          .string()
          .url()
          .max(512)
          .optional()
          .describe('The archive server\'s address as recipients reach it (e.g. https://archive.bureau.local): `share create` prints the full link `<baseUrl>/share/<token>`; without it, only the path.'),
      })
      .strict()
      .default({}),

    suggestions: z
      .object({
        framesPerSecond: z
          .number()
          .min(0.2)
          .max(10)
          .default(2)
          .describe('Frames of the original sampled per second for face suggestions (`redact suggest`): more finds faces that show briefly, at the detector\'s ~3 frames/s per core (ssd).'),
        model: z.enum(['ssd', 'tiny']).default('ssd').describe('Face detector: ssd (SSD MobileNet v1: recall 0.69, ~3 frames/s a core) or tiny (Tiny Face Detector: faster, misses small faces).'),
        minScore: z.number().min(0.1).max(0.99).default(0.5).describe('Detections the model scores below this are not suggested.'),
        frameWidth: z.number().int().min(320).max(1920).default(1280).describe('Sampled frames are scaled to this width before detection (the models work at 416–512 px inside; wider keeps small faces findable).'),
        maxFrames: z.number().int().min(10).max(20000).default(3600).describe('At most this many frames per run (30 minutes at 2 frames/s); a longer recording is sampled up to there and the run says so.'),
        frameTimeoutSeconds: z.number().int().min(5).max(600).default(60).describe('A frame the detector has not answered within this is a hung detector: its process is killed and the run fails (retried).'),
        detectorMemoryMiB: z.number().int().min(256).max(16384).default(1536).describe('V8 heap limit of the detector\'s own process, so a leak ends that process and the run, never the worker.'),
      })
      .strict()
      .default({}),

    reports: z
      .object({
        bureauName: z
          .string()
          .trim()
          .min(1)
          .max(128)
          .optional()
          .describe('Name of the bureau (执法机关名称, e.g. 某市医疗保障局) printed at the head of `evidock report --format csv|html|pdf`; those formats refuse to run without it, since a submission must say whose figures it holds.'),
        fontFile: z
          .string()
          .min(1)
          .default('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc')
          .describe('TrueType/OpenType font (or collection) with Chinese glyphs: `report --format pdf` embeds it, and `export --watermark` burns the recipient into proxies with it (ffmpeg takes the first face of a collection); Debian\'s fonts-noto-cjk by default (scripts/stack.sh installs it).'),
        fontFace: z
          .string()
          .min(1)
          .max(128)
          .default('NotoSansCJKsc-Regular')
          .describe('PostScript name of the face to take from fontFile when it is a collection (.ttc); ignored for a single font.'),
      })
      .strict()
      .default({}),

    cases: z
      .object({
        actionMarginMinutes: z
          .number()
          .int()
          .min(0)
          .max(24 * 60)
          .default(30)
          .describe('A recording of an action\'s officers that overlaps the action\'s window widened by this much on both sides is suggested for the case.'),
        archiveDays: z.number().int().min(1).max(365).default(30).describe('A case is archived within this many days after its enforcement action ends (the rules say 30); `evidock case overdue` counts down to it.'),
        missingFieldsGraceDays: z
          .number()
          .int()
          .min(0)
          .max(365)
          .default(7)
          .describe('A record still missing one of the five required fields this many days after capture is listed by `evidock case overdue`, per officer.'),
      })
      .strict()
      .default({}),

    fixity: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('Run the scheduled fixity check on hosts that serve the shared queues (`evidock daemon`, `evidock workers`).'),
        cycleDays: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(30)
          .describe('Every stored original is re-hashed once per this many days; a cycle starts this long after the previous one started (or when it ends, if it ran late).'),
        bytesPerSecond: z
          .number()
          .int()
          .min(0)
          .max(100 * 1024 ** 3)
          .default(50 * 1024 ** 2)
          .describe('Most bytes per second one worker process reads for fixity, so that it never starves ingest (0: unthrottled). Each host serving the fixity queue reads this much.'),
        tickSeconds: z
          .number()
          .int()
          .min(1)
          .max(24 * 3600)
          .default(300)
          .describe('How often the job scheduler asks the workers to look for fixity work; a tick that finds work carries on until the cycle is done or the process stops.'),
        batchMaxItems: z
          .number()
          .int()
          .min(1)
          .max(10000)
          .default(200)
          .describe('Items one worker claims at once and names in one signed FIXITY_BATCH_CHECKED custody event.'),
        batchMaxMiB: z
          .number()
          .int()
          .min(1)
          .max(1024 * 1024)
          .default(4096)
          .describe('Bytes of originals one batch reads at most (at least one item). A batch is committed as a whole: a worker killed mid-batch leaves its items for the next one.'),
      })
      .strict()
      .default({}),

    webhooks: z
      .object({
        attempts: z.number().int().min(1).max(100).default(10).describe('Deliveries tried per event and subscriber before it is left failed.'),
        backoffSeconds: z.number().min(0.1).max(3600).default(5).describe('First retry delay of a failed delivery; doubles each try, capped at one hour.'),
        timeoutSeconds: z.number().int().min(1).max(120).default(10).describe('How long a subscriber may take to answer a delivery.'),
        requeueSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(60)
          .describe('A delivery still pending this long without an attempt (its job lost with Redis) is queued again by the archive server, under the same delivery id.'),
        allowPrivateTargets: z
          .boolean()
          .default(true)
          .describe('Whether subscribers may be on loopback or private addresses (a bureau\'s case system usually is); off for servers reachable from outside.'),
      })
      .strict()
      .default({}),

    stack: z
      .object({
        managed: z.boolean().default(true).describe('Whether `evidock stack up` runs Redis, PostgreSQL and MinIO locally. Off when pointing at a bureau\'s servers.'),
        toolsCacheDir: z.string().min(1).optional().describe('Where the built MinIO and mc binaries are cached (default ~/.cache/evidock).'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type EvidockConfig = z.infer<typeof configSchema>;
export type DeadlineConfig = z.infer<typeof deadlineSchema>;
export type RecorderRegistration = z.infer<typeof recorderRegistrationSchema>;
