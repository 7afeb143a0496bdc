import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REPO_ROOT } from '../config/config.loader.ts';
import { moduleLogger } from '../config/logger.ts';

const log = moduleLogger('web-ui');

/**
 * The browser pages: the files `npm run build` put in dist/web (Vite), served by the archive
 * server itself, same origin as the API. Hashed assets are cached for good; index.html is
 * answered for every page path (the pages route in the browser) and never cached, so a new
 * build reaches browsers at their next load. A strict Content Security Policy: nothing but
 * this origin, no inline scripts.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Progress bars and the storyboard tile are positioned with style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');

/** Registers the assets and answers the function that sends a page's shell (for the not-found handler). */
export async function registerWebUi(app: FastifyInstance, root: string | undefined): Promise<(req: FastifyRequest, reply: FastifyReply, status?: number) => FastifyReply> {
  const dir = root ?? join(REPO_ROOT, 'dist', 'web');
  const indexPath = join(dir, 'index.html');
  const built = existsSync(indexPath);
  if (!built) log.warn({ dir }, 'the web interface is not built (npm run build); pages answer 503');
  const index = built ? readFileSync(indexPath) : null;

  if (built) {
    await app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      index: false,
      wildcard: false,
      immutable: true,
      // scripts/build.mjs writes .br and .gz beside each asset.
      preCompressed: true,
      maxAge: '365d',
      cacheControl: true,
      etag: true,
      lastModified: false,
    });
  }

  /** A GET for a page (not the API, not an asset): the app's shell (with another status where the page says why, e.g. 410). */
  return (_req: FastifyRequest, reply: FastifyReply, status = 200) => {
    reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY').header('referrer-policy', 'same-origin');
    if (!index) {
      return reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('网页界面尚未构建：请运行 npm run build。\nThe web interface is not built: run npm run build.\n');
    }
    return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  };
}

/** Whether a request that matched no route is a browser asking for a page. */
export function wantsPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = req.url.split('?')[0] ?? '/';
  if (path.startsWith('/api/') || path.startsWith('/assets/')) return false;
  return /\btext\/html\b|\*\/\*/.test(req.headers.accept ?? '') || !req.headers.accept;
}
