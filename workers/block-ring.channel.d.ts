// Types of block-ring.channel.js (plain JavaScript, so the copy and digest threads load it without tsx).

export const BLOCK_BYTES: number;
export const RING_SLOTS: number;

export class StalledPeerError extends Error {
  readonly consumer: string;
  constructor(consumer: string, message: string);
}

export interface Ring {
  blocks: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export interface ConsumerMemory {
  progress: SharedArrayBuffer;
  result: SharedArrayBuffer;
}

export function allocateRing(): Ring;
export function allocateConsumer(): ConsumerMemory;

export class RingProducer {
  constructor(ring: Ring, stallMs: number);
  begin(consumers: ReadonlyArray<ConsumerMemory & { name: string }>): void;
  take(): Buffer;
  publish(length: number): void;
  end(): void;
  finish(consumer: string): string;
}

export class RingConsumer {
  constructor(ring: Ring, own: ConsumerMemory);
  digest(update: (block: Buffer) => void): void;
  done(bytes: Uint8Array): void;
}
