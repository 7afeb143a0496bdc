import { describe, expect, it } from 'vitest';
import { signDelivery, verifyDelivery, webhookUrlProblem } from './webhook-signature.ts';

describe('webhook signatures', () => {
  const body = JSON.stringify({ event: 'evidence.linked', data: { caseNumber: '深医保罚〔2026〕12号' } });

  it('verifies its own signature, and refuses another body, secret or a stale timestamp', () => {
    const header = signDelivery('s3cret', 1_800_000_000, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyDelivery('s3cret', header, body, 1_800_000_100)).toBe(true);
    expect(verifyDelivery('s3cret', header, `${body} `, 1_800_000_100)).toBe(false);
    expect(verifyDelivery('other', header, body, 1_800_000_100)).toBe(false);
    expect(verifyDelivery('s3cret', header, body, 1_800_000_301)).toBe(false);
    expect(verifyDelivery('s3cret', 'garbage', body, 1_800_000_000)).toBe(false);
  });

  it('takes http(s) URLs, and private targets only when allowed', () => {
    expect(webhookUrlProblem('https://cms.example.gov.cn/hooks/evidock', false)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hook', true)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hook', false)).toMatch(/private/);
    expect(webhookUrlProblem('http://192.168.3.4/hook', false)).toMatch(/private/);
    expect(webhookUrlProblem('http://[::1]/hook', false)).toMatch(/private/);
    expect(webhookUrlProblem('ftp://x/hook', true)).toMatch(/http or https/);
    expect(webhookUrlProblem('https://user:pw@x/hook', true)).toMatch(/credentials/);
    expect(webhookUrlProblem('not a url', true)).toMatch(/not a URL/);
  });
});
