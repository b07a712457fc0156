import { describe, expect, it } from 'vitest';
import type { MessageTemplate } from '../../src/domain/effects.ts';
import { type InAppNoticeKind, type Locale, renderInAppNotice, renderMessage, safetyLine } from '../../src/domain/messages.ts';

const LOCALES: readonly Locale[] = ['en', 'zh-CN'];

// A record, so the type checker notices a template added without a line here.
const CARRIES: Record<MessageTemplate, 'code' | 'code+link' | 'nothing'> = {
  'registration.code': 'code',
  'recovery.code': 'code',
  'recovery.link': 'code+link',
  'binding.code': 'code',
  'recovery.completed': 'nothing',
  'recovery.started': 'nothing',
  'channel.changed': 'nothing',
  'secondFactor.enabled': 'nothing',
  'recovery.refusedByFriend': 'nothing',
  'review.approved': 'nothing',
  'review.secondFactorReset': 'nothing',
};
const TEMPLATES = Object.keys(CARRIES) as MessageTemplate[];

const NOTICES: Record<InAppNoticeKind, boolean> = { 'friendAssist.asked': true, 'friendAssist.started': false, 'friendAssist.refused': false };

const values = { code: '493027', link: 'https://example.test/reset/q3Jx0Wc1YzN1l8S2kQe7Ag', minutes: 17 };

describe('renderMessage', () => {
  it('should give every template its own subject and text in every locale', () => {
    for (const locale of LOCALES) {
      const rendered = TEMPLATES.map((template) => renderMessage(template, locale, CARRIES[template] === 'nothing' ? {} : values));
      for (const { subject, text } of rendered) {
        expect(subject.trim().length).toBeGreaterThan(3);
        expect(text.length).toBeGreaterThan(subject.length);
      }
      expect(new Set(rendered.map((r) => r.subject)).size).toBe(TEMPLATES.length);
      expect(new Set(rendered.map((r) => r.text)).size).toBe(TEMPLATES.length);
    }
  });

  it('should put the code, its lifetime and the link in the messages that carry them, with the safety line last', () => {
    for (const locale of LOCALES) {
      for (const template of TEMPLATES.filter((t) => CARRIES[t] !== 'nothing')) {
        const { text } = renderMessage(template, locale, values);
        expect(text, `${locale} ${template}`).toContain(values.code);
        expect(text, `${locale} ${template}`).toContain(`${values.minutes}`);
        if (CARRIES[template] === 'code+link') expect(text).toContain(values.link);
        expect(text.endsWith(` ${safetyLine(locale)}`), `${locale} ${template}`).toBe(true);
        expect(text).not.toContain('undefined');
      }
    }
  });

  it('should add no safety line to a message without a code', () => {
    for (const locale of LOCALES) {
      for (const template of TEMPLATES.filter((t) => CARRIES[t] === 'nothing')) {
        const { text } = renderMessage(template, locale, {});
        expect(text, `${locale} ${template}`).not.toContain(safetyLine(locale));
        expect(text).not.toContain('undefined');
      }
    }
  });

  it('should speak each locale: Chinese text in zh-CN, none in English', () => {
    const han = /\p{Script=Han}/u;
    for (const template of TEMPLATES) {
      const en = renderMessage(template, 'en', values);
      const zh = renderMessage(template, 'zh-CN', values);
      expect(han.test(en.subject + en.text), template).toBe(false);
      expect(han.test(zh.subject) && han.test(zh.text), template).toBe(true);
    }
  });
});

describe('renderInAppNotice', () => {
  it('should give every notice its own text, naming the account only where a friend is asked', () => {
    const handle = 'wang_xiaoming';
    for (const locale of LOCALES) {
      const texts = (Object.keys(NOTICES) as InAppNoticeKind[]).map((kind) => {
        const text = renderInAppNotice(kind, locale, handle);
        expect(text.length, `${locale} ${kind}`).toBeGreaterThan(20);
        expect(text.includes(handle), `${locale} ${kind}`).toBe(NOTICES[kind]);
        return text;
      });
      expect(new Set(texts).size).toBe(texts.length);
      // The friend is told, in so many words, that nobody will ask them for a code.
      expect(renderInAppNotice('friendAssist.asked', locale, handle).split(handle).length).toBe(4);
    }
    expect(/\p{Script=Han}/u.test(renderInAppNotice('friendAssist.started', 'zh-CN', 'x'))).toBe(true);
    expect(/\p{Script=Han}/u.test(renderInAppNotice('friendAssist.refused', 'zh-CN', 'x'))).toBe(true);
  });
});
