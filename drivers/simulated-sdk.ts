import { timingSafeEqual } from 'node:crypto';
import { SdkError, type RecorderSdk, type ZfyInfo } from './recorder-sdk.ts';

/**
 * A GA/T 947 recorder SDK in memory, for tests and the demo: it answers GetZFYInfo, checks
 * the SetMSDC password like a device, keeps a drifting clock and can be told to fail, so
 * the dock flow can be exercised without hardware or a vendor library.
 */

/** The SDK operations, named as in the standard, for `failOn` and the call log. */
export type SdkOperation = 'GetZFYInfo' | 'SetMSDC' | 'ReadDevTime' | 'SyncDevTime' | 'FileCount';

export interface SimulatedSdkOptions {
  /** What `fileCount()` answers; null for an SDK that cannot tell. Default null. */
  fileCount?: number | null;
  /** The host clock the device drifts from; injectable so tests are exact. */
  now?: () => Date;
}

export interface SdkCall {
  operation: SdkOperation;
  at: Date;
  ok: boolean;
}

const PASSWORD_BYTES = 6;

export class SimulatedSdkDevice implements RecorderSdk {
  /** Every call in order, failed ones included. */
  readonly calls: SdkCall[] = [];
  /** The times passed to `syncDevTime`, in order. */
  readonly syncCalls: Date[] = [];
  private readonly password: Buffer;
  private readonly now: () => Date;
  private offsetMs: number;
  private count: number | null;
  private msdc = false;
  private readonly failures = new Map<SdkOperation | '*', { remaining: number; message: string }>();

  constructor(
    private readonly info: ZfyInfo,
    clockOffsetMs: number,
    password: string | Buffer,
    options: SimulatedSdkOptions = {},
  ) {
    this.password = Buffer.from(password);
    if (this.password.length !== PASSWORD_BYTES) throw new RangeError(`simulated recorder password must be ${PASSWORD_BYTES} bytes`);
    if (!Number.isFinite(clockOffsetMs)) throw new RangeError('clock offset must be a finite number of milliseconds');
    this.offsetMs = clockOffsetMs;
    this.count = options.fileCount ?? null;
    this.now = options.now ?? (() => new Date());
  }

  /** How far the device clock is ahead of the host clock (negative: behind). */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  /** Whether SetMSDC has succeeded, i.e. the device would now show up as a disk. */
  get massStorageEnabled(): boolean {
    return this.msdc;
  }

  setFileCount(count: number | null): void {
    this.count = count;
  }

  /**
   * Makes `operation` ('*' for all) reject with SdkError for the next `times` calls
   * (default: until `heal()`), like a recorder that is unplugged or whose firmware is busy.
   */
  failOn(operation: SdkOperation | '*', options: { times?: number; message?: string } = {}): void {
    this.failures.set(operation, { remaining: options.times ?? Number.POSITIVE_INFINITY, message: options.message ?? 'device did not respond' });
  }

  heal(): void {
    this.failures.clear();
  }

  async getZfyInfo(): Promise<ZfyInfo> {
    this.enter('GetZFYInfo');
    return { ...this.info };
  }

  async setMsdc(password: Buffer): Promise<void> {
    this.enter('SetMSDC');
    if (!Buffer.isBuffer(password) || password.length !== PASSWORD_BYTES) {
      this.markFailed();
      throw new SdkError('SetMSDC', `password must be exactly ${PASSWORD_BYTES} bytes`);
    }
    if (!timingSafeEqual(password, this.password)) {
      this.markFailed();
      throw new SdkError('SetMSDC', 'wrong password');
    }
    this.msdc = true;
  }

  async readDevTime(): Promise<Date> {
    this.enter('ReadDevTime');
    return new Date(this.now().getTime() + this.offsetMs);
  }

  /** The simulated device takes the host clock as truth: after a sync it has no drift. */
  async syncDevTime(now: Date): Promise<void> {
    this.enter('SyncDevTime');
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
      this.markFailed();
      throw new SdkError('SyncDevTime', 'invalid time');
    }
    this.syncCalls.push(new Date(now.getTime()));
    this.offsetMs = 0;
  }

  async fileCount(): Promise<number | null> {
    this.enter('FileCount');
    return this.count;
  }

  /** Logs the call and throws the configured failure, if any. */
  private enter(operation: SdkOperation): void {
    const failure = this.failures.get(operation) ?? this.failures.get('*');
    const call: SdkCall = { operation, at: this.now(), ok: failure === undefined };
    this.calls.push(call);
    if (failure === undefined) return;
    failure.remaining -= 1;
    if (failure.remaining <= 0) {
      for (const [key, value] of this.failures) if (value === failure) this.failures.delete(key);
    }
    throw new SdkError(operation, failure.message);
  }

  private markFailed(): void {
    const last = this.calls[this.calls.length - 1];
    if (last) last.ok = false;
  }
}
