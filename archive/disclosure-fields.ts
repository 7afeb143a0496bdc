/**
 * De-identification (脱密脱敏) of what a disclosure copy for publication (公示) says about its
 * records. The rules (../shared/regulations.md, Disclosure): published material carries no
 * names of persons other than the party, no ID numbers, addresses, phone numbers or bank
 * accounts. Pure: the disclosure service decides nothing about text itself.
 *
 * Two layers:
 * 1. An allow-list (`DISCLOSURE_FIELDS`): a field not named there is never written, so a field
 *    added to the catalog later stays out of published metadata until someone decides it may go.
 *    The officer, recorder, file names and paths, GPS and unit are not on it.
 * 2. A scrubber (`scrubText`) for the free-text fields on the list (subject, place, document
 *    titles), which applies, in this order:
 *    - Chinese resident ID numbers (居民身份证号): 18 characters, 17 digits and a digit or X, whose
 *      GB 11643 check character is right → `[身份证号]`;
 *    - bank card numbers (银行卡号): 16–19 digits, optionally in groups split by spaces or
 *      hyphens, that pass the Luhn check → `[银行卡号]`;
 *    - phone numbers (电话): mobile numbers 1[3-9]xxxxxxxxx (with +86/86 and separators),
 *      landlines with an area code 0xx(x)-xxxxxxx(x) (brackets, hyphens, spaces, an extension),
 *      and 400/800 numbers → `[电话]`;
 *    - any other run of 15 or more digits (an ID or card number with a wrong check digit is
 *      still someone's number) → `[号码]`;
 *    - addresses (地址) finer than a county: a road, street, lane or village (路, 街, 大道, 巷,
 *      弄, 胡同, 村, 组) with a number (号), with the province/city/district before it and any
 *      building, unit, floor or room (栋, 座, 幢, 楼, 单元, 层, 室) after it, and a building
 *      and room without a road (3栋2单元501室) → `[地址]`. A place down to its district or county
 *      (深圳市福田区) is not an address and stays;
 *    - person names (姓名): every name the caller knows (the records' subject persons given to
 *      the disclosure, the collecting officers), every name after a label (姓名, 当事人, 证人,
 *      联系人, 负责人, 法定代表人, 经办人, 被检查人, 陪同人员, 见证人, 患者, 参保人, 投诉人, 举报人,
 *      with or without a colon), and a name with a common surname just before 询问笔录, 谈话笔录,
 *      陈述, 申辩, 证言, 身份证 or 的身份 → its surname and 某 (张三 → 张某), the form Chinese
 *      published decisions use. Names already in that form (张某, 李某某) stay. The party's own
 *      name may stay (the rules allow it) only when the caller lists it in `keep`.
 *    A name written nowhere near a label, and not known to the caller, cannot be told from
 *    other words: the disclosure lists the names it masked by count only, and a person reviews
 *    the copy before it is published.
 */

/** The fields a disclosure copy may carry of each record; nothing else is written. */
export const DISCLOSURE_FIELDS = ['file', 'sha256', 'size', 'mediaType', 'source', 'caseNumbers', 'captureStart', 'captureEnd', 'durationSeconds', 'subject', 'place'] as const;
export type DisclosureField = (typeof DISCLOSURE_FIELDS)[number];

/** Of the fields above, the free text that is scrubbed before it is written. */
export const SCRUBBED_FIELDS: ReadonlySet<DisclosureField> = new Set(['subject', 'place']);

/** The fields a disclosure copy may carry of each case document (its title is scrubbed). */
export const DOCUMENT_FIELDS = ['title', 'contentType', 'uploadedAt'] as const;

export type PiiKind = 'id-number' | 'bank-card' | 'phone' | 'number' | 'address' | 'name';

export const MASKS: Record<Exclude<PiiKind, 'name'>, string> = {
  'id-number': '[身份证号]',
  'bank-card': '[银行卡号]',
  phone: '[电话]',
  number: '[号码]',
  address: '[地址]',
};

export interface ScrubResult {
  text: string;
  /** How many of each kind were masked (never the values). */
  found: Partial<Record<PiiKind, number>>;
}

export interface NameRules {
  /** Names of persons to mask wherever they appear (subject persons, officers). */
  names: readonly string[];
  /** Names that may stay (the party, when it is a person the decision names). */
  keep?: readonly string[];
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** GB 11643-1999: the 18th character of a resident ID number from the first 17. */
export function idCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

export function isResidentId(s: string): boolean {
  return /^\d{17}[\dX]$/i.test(s) && idCheckCharacter(s.slice(0, 17)) === s[17]!.toUpperCase();
}

export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// Digits that are not part of a longer run of digits or Latin letters (a case number, a hash).
const B = '(?<![0-9A-Za-z])';
const E = '(?![0-9A-Za-z])';
const ID_RE = new RegExp(`${B}\\d{17}[\\dXx]${E}`, 'g');
const CARD_RE = new RegExp(`${B}\\d(?:[ -]?\\d){15,18}${E}`, 'g');
const MOBILE_RE = new RegExp(`${B}(?:\\+?86[ -]?)?1[3-9]\\d(?:[ -]?\\d{4}){2}${E}`, 'g');
const LANDLINE_RE = new RegExp(`(?:[(（]0\\d{2,3}[)）]\\s?|${B}0\\d{2,3}[ -]?)\\d{7,8}(?:\\s?(?:转|-|ext\\.?)\\s?\\d{1,6})?${E}`, 'g');
const SERVICE_RE = new RegExp(`${B}[48]00[ -]?\\d{3}[ -]?\\d{4}${E}`, 'g');
const LONG_DIGITS_RE = /\d(?:[ -]?\d){14,}/g;

const NUM = '[0-9０-９〇零一二三四五六七八九十百千甲乙丙丁之A-Za-z\\-－]';
const ADMIN = '(?:\\p{Script=Han}{1,8}?(?:省|自治区|特别行政区|市|州|盟|地区|区|县|旗|镇|乡|街道))';
const ROAD = '(?:路|街|大道|巷|弄|胡同|村|组)';
const TAIL = `(?:${NUM}+(?:栋|座|幢|号楼|楼|单元|层|室|房|号))*`;
const ESTATE = '(?:小区|花园|大厦|公寓|新村|苑|广场|家园)';
const ADDRESS_RE = new RegExp(`${ADMIN}{0,5}[\\p{Script=Han}0-9]{0,6}?${ROAD}${NUM}+号${TAIL}`, 'gu');
const BUILDING_RE = new RegExp(`${ADMIN}{0,5}(?:\\p{Script=Han}{0,8}?${ESTATE})?${NUM}+(?:栋|座|幢|号楼)(?:${NUM}+(?:单元|层|楼))*${NUM}+(?:室|房|号)`, 'gu');
const ESTATE_ROOM_RE = new RegExp(`${ADMIN}{0,5}\\p{Script=Han}{0,8}?${ESTATE}${NUM}+(?:室|房|号)`, 'gu');

const LABELS = ['法定代表人', '陪同人员', '被检查人', '当事人', '联系人', '负责人', '经办人', '见证人', '参保人', '投诉人', '举报人', '姓名', '证人', '患者'];
const NAME = '\\p{Script=Han}{2,4}';
/** What commonly follows a name in a record (a verb, a particle): where a labelled name ends. */
const FOLLOWERS = '的到在于称表陈签确不未已系为是等及和与同陪对向说拒现经因将把被也都就并均住家之';
const LABELLED_RE = new RegExp(`(?:${LABELS.join('|')})\\s*[:：]?\\s*(${NAME}?)(?=$|[\\s,，。；;、:：()（）\\[【0-9]|[${FOLLOWERS}]|身份|电话|手机|联系|银行)`, 'gu');
/** The hundred commonest surnames (and the commoner two-character ones), for names before a document word. */
const SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const COMPOUND_SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '令狐', '慕容', '尉迟', '长孙'];
const BEFORE_DOC_RE = new RegExp(`((?:${COMPOUND_SURNAMES.join('|')}|[${SURNAMES}])\\p{Script=Han}{1,2}?)(?=询问笔录|谈话笔录|询问|陈述|申辩|证言|身份证|的身份)`, 'gu');

/** 张三 → 张某, 欧阳明华 → 欧阳某: the surname kept, as published decisions write it. */
export function maskName(name: string): string {
  const compound = COMPOUND_SURNAMES.find((s) => name.startsWith(s) && name.length > s.length);
  return `${compound ?? name[0]}某`;
}

/**
 * Not a person's name to mask: already de-identified (张某, 李某某, 欧阳某: anything with 某), or
 * an organisation or place after a label (当事人某某药店, 当事人深圳某公司).
 */
const notAName = (name: string): boolean => name.includes('某') || /[店司院所局厂部行房馆站社会堂场处科室中心]$/u.test(name);

/** Names after a label or before a document word in these texts (for masking them everywhere). */
export function namesIn(texts: ReadonlyArray<string | null | undefined>): string[] {
  const names = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const m of text.matchAll(LABELLED_RE)) if (m[1] && !notAName(m[1])) names.add(m[1]);
    for (const m of text.matchAll(BEFORE_DOC_RE)) if (m[1] && !notAName(m[1])) names.add(m[1]);
  }
  return [...names];
}

/** Masks what the rules forbid in one free-text value (see the rules at the top of this file). */
export function scrubText(text: string, rules: NameRules = { names: [] }): ScrubResult {
  const found: ScrubResult['found'] = {};
  const count = (kind: PiiKind) => {
    found[kind] = (found[kind] ?? 0) + 1;
  };
  let out = text.normalize('NFC');
  out = out.replace(ID_RE, (m) => (isResidentId(m) ? (count('id-number'), MASKS['id-number']) : m));
  out = out.replace(CARD_RE, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return digits.length >= 16 && digits.length <= 19 && luhnValid(digits) ? (count('bank-card'), MASKS['bank-card']) : m;
  });
  for (const re of [MOBILE_RE, LANDLINE_RE, SERVICE_RE]) out = out.replace(re, () => (count('phone'), MASKS.phone));
  out = out.replace(LONG_DIGITS_RE, () => (count('number'), MASKS.number));
  for (const re of [ADDRESS_RE, BUILDING_RE, ESTATE_ROOM_RE]) out = out.replace(re, () => (count('address'), MASKS.address));

  const keep = new Set((rules.keep ?? []).map((n) => n.trim()).filter(Boolean));
  const names = new Set([...rules.names, ...namesIn([out])].map((n) => n.trim()).filter((n) => n.length >= 2 && !keep.has(n) && !notAName(n)));
  // Longest first, so 欧阳明华 is masked whole before 欧阳明 could be.
  for (const name of [...names].sort((a, b) => b.length - a.length)) {
    const parts = out.split(name);
    if (parts.length > 1) {
      found.name = (found.name ?? 0) + parts.length - 1;
      out = parts.join(maskName(name));
    }
  }
  return { text: out, found };
}

/** Adds the counts of one scrub to a running total. */
export function addFound(total: ScrubResult['found'], more: ScrubResult['found']): void {
  for (const [k, v] of Object.entries(more) as Array<[PiiKind, number]>) total[k] = (total[k] ?? 0) + v;
}
