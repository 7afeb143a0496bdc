/**
 * The seam for GA/T 947 vendor SDKs. Chinese body-worn recorders expose their
 * public-security functions through a vendor library before they show up as a disk:
 * GetZFYInfo (identity), SetMSDC (switch to mass storage, 6-byte password) and
 * SyncDevTime (set the clock). A real library is plugged in later through FFI by
 * implementing this interface; the pipeline does not change.
 */

/** GetZFYInfo's answer. Field names follow the standard's meaning, not a vendor's struct. */
export interface ZfyInfo {
  /** 产品序号 */
  productSerial: string;
  /** 警号 / 执法证号 */
  officerNumber: string | null;
  officerName: string | null;
  /** 单位编号 */
  unitNumber: string | null;
  unitName: string | null;
  vendor: string | null;
  model: string | null;
}

export interface RecorderSdk {
  getZfyInfo(): Promise<ZfyInfo>;
  /** Switch the recorder to USB mass storage (MSDC). The password is exactly 6 bytes. */
  setMsdc(password: Buffer): Promise<void>;
  /** The recorder's own clock, read before it is synchronised (the offset is evidence). */
  readDevTime(): Promise<Date>;
  syncDevTime(now: Date): Promise<void>;
  /** How many recordings the device believes it holds, when the SDK can tell. */
  fileCount(): Promise<number | null>;
}

export class SdkError extends Error {
  constructor(readonly operation: string, message: string, options?: { cause?: unknown }) {
    super(`recorder SDK ${operation} failed: ${message}`, options);
    this.name = 'SdkError';
  }
}
