import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { wantsPage } from './web-ui.plugin.ts';

const req = (method: string, url: string, accept?: string) => ({ method, url, headers: accept === undefined ? {} : { accept } }) as unknown as FastifyRequest;

describe('wantsPage', () => {
  it('gives the app to a browser asking for any page path', () => {
    expect(wantsPage(req('GET', '/search?case=A', 'text/html,application/xhtml+xml'))).toBe(true);
    expect(wantsPage(req('GET', '/evidence/abc', '*/*'))).toBe(true);
    expect(wantsPage(req('HEAD', '/', undefined))).toBe(true);
  });
  it('never answers the API, assets, other methods or non-HTML clients with the page', () => {
    expect(wantsPage(req('GET', '/api/v1/nope', 'text/html'))).toBe(false);
    expect(wantsPage(req('GET', '/assets/missing.js', 'text/html'))).toBe(false);
    expect(wantsPage(req('POST', '/search', 'text/html'))).toBe(false);
    expect(wantsPage(req('GET', '/search', 'application/json'))).toBe(false);
  });
});
