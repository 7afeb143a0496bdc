/**
 * The expected refusals of the archive's services, each with a stable code, the HTTP status
 * the API answers with, and the operator's message in both languages. The CLI prints the
 * message; the API returns `{ error: { code, message, messageZh } }`.
 */
export class ArchiveError extends Error {
  constructor(
    readonly code: string,
    readonly status: 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 423 | 429,
    message: string,
    readonly messageZh: string,
    readonly extra: { problems?: string[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export const notFound = (what: 'evidence' | 'case' | 'document' | 'request' | 'user' | 'key' | 'unit' | 'recorder' | 'webhook' | 'action', id: string): ArchiveError => {
  const zh: Record<typeof what, string> = {
    evidence: '证据',
    case: '案件',
    document: '文件',
    request: '申请',
    user: '用户',
    key: 'API 密钥',
    unit: '单位',
    recorder: '记录仪',
    webhook: '订阅',
    action: '执法行为',
  };
  return new ArchiveError(`${what.toUpperCase()}_NOT_FOUND`, 404, `no ${what} ${id}`, `找不到${zh[what]} ${id}`);
};

export const invalid = (problems: string[]): ArchiveError =>
  new ArchiveError('INVALID_REQUEST', 400, `invalid request: ${problems.join('; ')}`, `请求有误：${problems.join('；')}`, { problems });

export const forbidden = (what: string): ArchiveError => new ArchiveError('FORBIDDEN', 403, `not allowed: ${what}`, `无权${what}`);

export const approvalRequired = (action: string): ArchiveError =>
  new ArchiveError('APPROVAL_REQUIRED', 403, `${action} needs an approved access request`, `此操作（${action}）需先提交调阅/复制申请并经批准`);

export const conflict = (code: string, message: string, messageZh: string): ArchiveError => new ArchiveError(code, 409, message, messageZh);
