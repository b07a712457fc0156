/**
 * Message texts, per language. Every message that carries a code says that nobody from the
 * service will ever ask for it (the seeds' safety line), because relayed codes are how
 * accounts are stolen.
 */
import type { MessageTemplate } from './effects.ts';

export type Locale = 'en' | 'zh-CN';

export interface MessageValues {
  readonly code?: string;
  readonly link?: string;
  readonly minutes?: number;
}

const SAFETY: Record<Locale, string> = {
  en: 'Nobody from the service will ever ask you for this code. Do not share it.',
  'zh-CN': '官方绝不会以任何形式向您索要验证码，请勿告诉他人，谨防诈骗。',
};

type Text = (v: MessageValues) => { readonly subject: string; readonly body: string };

const TEMPLATES: Record<Locale, Record<MessageTemplate, Text>> = {
  en: {
    'registration.code': (v) => ({ subject: 'Your sign-up code', body: `Your sign-up code is ${v.code}. It expires in ${v.minutes} minutes.` }),
    'recovery.code': (v) => ({ subject: 'Your password reset code', body: `Your password reset code is ${v.code}. It expires in ${v.minutes} minutes. If you did not ask for it, ignore this message.` }),
    'recovery.link': (v) => ({ subject: 'Reset your password', body: `Open ${v.link} or enter the code ${v.code} to reset your password. Both expire in ${v.minutes} minutes.` }),
    'binding.code': (v) => ({ subject: 'Confirm this contact', body: `Your confirmation code is ${v.code}. It expires in ${v.minutes} minutes.` }),
    'recovery.completed': () => ({ subject: 'Your password was reset', body: 'Your password was just reset and every other session was signed out. If this was not you, contact support at once to dispute it.' }),
    'recovery.started': () => ({ subject: 'Account recovery started', body: 'Someone started recovering your account. If this was not you, sign in and stop it, or contact support.' }),
    'channel.changed': () => ({ subject: 'Your contact details changed', body: 'A phone number or e-mail address on your account was changed. If this was not you, contact support at once.' }),
    'secondFactor.enabled': () => ({ subject: 'Two-step verification is on', body: 'Two-step verification with an authenticator app was just turned on for your account. If this was not you, contact support at once.' }),
  },
  'zh-CN': {
    'registration.code': (v) => ({ subject: '注册验证码', body: `您的注册验证码为 ${v.code}，${v.minutes} 分钟内有效。` }),
    'recovery.code': (v) => ({ subject: '找回密码验证码', body: `您的找回密码验证码为 ${v.code}，${v.minutes} 分钟内有效。如非本人操作，请忽略本消息。` }),
    'recovery.link': (v) => ({ subject: '重置密码', body: `请打开 ${v.link} 或输入验证码 ${v.code} 重置密码，${v.minutes} 分钟内有效。` }),
    'binding.code': (v) => ({ subject: '确认联系方式', body: `您的确认验证码为 ${v.code}，${v.minutes} 分钟内有效。` }),
    'recovery.completed': () => ({ subject: '密码已重置', body: '您的密码刚刚被重置，其他所有登录设备均已退出。如非本人操作，请立即联系客服申诉。' }),
    'recovery.started': () => ({ subject: '账号找回已发起', body: '有人正在找回您的账号。如非本人操作，请登录并终止，或联系客服。' }),
    'channel.changed': () => ({ subject: '联系方式已变更', body: '您账号绑定的手机号或邮箱已变更。如非本人操作，请立即联系客服。' }),
    'secondFactor.enabled': () => ({ subject: '两步验证已开启', body: '您的账号刚刚开启了身份验证器两步验证。如非本人操作，请立即联系客服。' }),
  },
};

/** The subject and text of a message; messages that carry a code end with the safety line. */
export const renderMessage = (template: MessageTemplate, locale: Locale, values: MessageValues): { readonly subject: string; readonly text: string } => {
  const { subject, body } = TEMPLATES[locale][template](values);
  return { subject, text: values.code === undefined ? body : `${body} ${SAFETY[locale]}` };
};

export const safetyLine = (locale: Locale): string => SAFETY[locale];
