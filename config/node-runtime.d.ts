/** Types of node-runtime.js (plain JavaScript, loaded before anything is compiled). */
export function pinnedNodeVersion(): string;
export function isSupportedNode(version: string): boolean;
export function supportedNodePath(env?: NodeJS.ProcessEnv): string | null;
