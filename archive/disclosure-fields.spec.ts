import { describe, expect, it } from 'vitest';
import { bankCard, residentId } from '../test/support/generated-pii.ts';
import { isResidentId, luhnValid, maskName, MASKS, namesIn, scrubText } from './disclosure-fields.ts';

describe('the check digits', () => {
  it('knows a resident ID number by its GB 11643 check character, X included', () => {
    expect(isResidentId('11010519491231002X')).toBe(true);
    expect(isResidentId('110105194912310021')).toBe(false);
    expect(isResidentId(residentId(5))).toBe(true);
  });

  it('knows a bank card number by Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid(bankCard(3, 16))).toBe(true);
  });
});

describe('scrubText', () => {
  it('masks a resident ID number, and a wrong-checksum one as a long number', () => {
    const id = residentId(17);
    const r = scrubText(`当事人身份证号码：${id}，另一号码 440304199001011234`);
    expect(r.text).not.toContain(id);
    expect(r.text).toContain(MASKS['id-number']);
    expect(r.text).not.toContain('440304199001011234');
    expect(r.found['id-number']).toBe(1);
  });

  it('masks bank cards of 16 to 19 digits, contiguous or grouped', () => {
    const a = bankCard(11, 16);
    const b = bankCard(12, 19);
    const grouped = b.replace(/(\d{4})(?=\d)/g, '$1 ');
    const r = scrubText(`退款账户 ${a}；另一账户 ${grouped}。`);
    expect(r.text).not.toContain(a);
    expect(r.text.replace(/\s/g, '')).not.toContain(b);
    expect(r.found['bank-card']).toBe(2);
  });

  it('masks mobile, landline and service numbers in their usual spellings', () => {
    const r = scrubText('手机13812345678，+86 139-1234-5678，座机0755-83212345，（020）87654321转123，热线400-123-4567');
    for (const n of ['13812345678', '139-1234-5678', '83212345', '87654321', '400-123-4567']) expect(r.text).not.toContain(n);
    expect(r.found.phone).toBe(5);
  });

  it('masks addresses finer than a county and keeps a district', () => {
    const r = scrubText('检查地点：广东省深圳市福田区深南大道1000号3栋2单元501室；另见某某村3组12号、阳光花园5栋1单元203室');
    expect(r.text).not.toMatch(/深南大道|1000号|501室|3组12号|203室/);
    expect(r.found.address).toBe(3);
    expect(scrubText('深圳市福田区').text).toBe('深圳市福田区');
  });

  it('masks labelled names and names before document words everywhere, and keeps the party when asked', () => {
    const r = scrubText('当事人张三到场，证人：李四，联系人王小明电话13800001111。张三签字确认。', { names: [] });
    expect(r.text).not.toMatch(/张三|李四|王小明/);
    expect(r.text).toContain('张某到场');
    expect(r.found.name).toBe(4);
    const kept = scrubText('当事人张三，证人李四', { names: [], keep: ['张三'] });
    expect(kept.text).toBe('当事人张三，证人李某');
    expect(namesIn(['赵六询问笔录.pdf', '欧阳明华的身份证复印件'])).toEqual(['赵六', '欧阳明华']);
  });

  it('masks the names the caller knows even without a label, longest first', () => {
    const r = scrubText('现场检查由欧阳明华陪同，欧阳明在外', { names: ['欧阳明', '欧阳明华'] });
    expect(r.text).toBe('现场检查由欧阳某陪同，欧阳某在外');
    expect(maskName('张三')).toBe('张某');
  });

  it('leaves what is not personal data alone: a case number, a time, an organisation, a de-identified name', () => {
    const text = '深医保罚〔2026〕12号 2026-11-21 09:30 当事人某某大药房，证人张某';
    expect(scrubText(text).text).toBe(text);
    expect(scrubText('YB-SZ-2026-001').found).toEqual({});
  });

  it('handles a record that carries every kind at once', () => {
    const id = residentId(3);
    const card = bankCard(4);
    const text = `当事人陈大文（身份证 ${id}，手机 13698765432，银行卡 ${card}，住深圳市南山区科技路8号2栋301室），证人刘芳芳。`;
    const r = scrubText(text, { names: [] });
    for (const secret of [id, card, '13698765432', '科技路8号', '301室', '陈大文', '刘芳芳']) expect(r.text).not.toContain(secret);
    expect(Object.keys(r.found).sort()).toEqual(['address', 'bank-card', 'id-number', 'name', 'phone']);
  });
});
