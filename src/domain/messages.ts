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
    'recovery.refusedByFriend': () => ({ subject: 'A friend stopped a recovery of your account', body: 'Someone tried to recover your account with help from friends, and a friend said the request was not from you. The recovery was stopped. If you did not start it, change your password and check your sessions.' }),
    'review.approved': () => ({ subject: 'Support approved a recovery of your account', body: 'Customer support approved a request to recover your account. A new password can be set only after a waiting period. If this was not you, sign in now and stop the recovery, or contact support to dispute it.' }),
    'review.secondFactorReset': () => ({ subject: 'Two-step verification was removed', body: 'As part of a recovery approved by customer support, two-step verification was removed from your account. If this was not you, contact support at once.' }),
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
    'recovery.refusedByFriend': () => ({ subject: '好友已终止一次账号找回', body: '有人尝试通过好友辅助验证找回您的账号，您的好友表示该请求并非您本人发起，找回已被终止。如非本人操作，请修改密码并检查登录设备。' }),
    'review.approved': () => ({ subject: '客服已批准找回您的账号', body: '客服已批准一项找回您账号的申请。等待期结束后，申请人才能设置新密码。如非本人申请，请立即登录并终止此次找回，或联系客服申诉。' }),
    'review.secondFactorReset': () => ({ subject: '两步验证已被移除', body: '根据客服批准的账号找回申请，您账号的两步验证已被移除。如非本人申请，请立即联系客服。' }),
  },
};

/** The subject and text of a message; messages that carry a code end with the safety line. */
export const renderMessage = (template: MessageTemplate, locale: Locale, values: MessageValues): { readonly subject: string; readonly text: string } => {
  const { subject, body } = TEMPLATES[locale][template](values);
  return { subject, text: values.code === undefined ? body : `${body} ${SAFETY[locale]}` };
};

export const safetyLine = (locale: Locale): string => SAFETY[locale];

// ---------------------------------------------------------------------------------------------
// in-app notices (friend-assisted recovery)
// ---------------------------------------------------------------------------------------------

export type InAppNoticeKind = 'friendAssist.asked' | 'friendAssist.started' | 'friendAssist.refused';

// The friend's notice carries no code and asks for none: a relayed code is the scam this path must not become.
const IN_APP: Record<Locale, Record<InAppNoticeKind, (handle: string) => string>> = {
  en: {
    'friendAssist.asked': (h) =>
      `${h} is recovering their account and named you as a friend who can vouch for them. Confirm here only if ${h} asked you themselves, in person or on a call you trust; if not, refuse. There is no code to pass on: nobody from the service or from ${h} will ever ask you for one.`,
    'friendAssist.started': () => 'Someone started recovering your account with help from friends. If this was not you, stop it now.',
    'friendAssist.refused': () => 'A friend said a recovery of your account was not your request, and it was stopped. If you did not start it, change your password.',
  },
  'zh-CN': {
    'friendAssist.asked': (h) =>
      `${h} 正在找回账号，并指定您为可协助验证的好友。仅当 ${h} 本人当面或通过您信任的电话请求时才确认，否则请拒绝。此过程没有任何验证码需要转告：官方和 ${h} 都不会向您索要验证码。`,
    'friendAssist.started': () => '有人正在通过好友辅助验证找回您的账号。如非本人操作，请立即终止。',
    'friendAssist.refused': () => '您的好友表示一次账号找回并非您本人发起，该找回已被终止。如非本人操作，请修改密码。',
  },
};

/** The text of an in-app notice; `handle` names the account being recovered. */
export const renderInAppNotice = (kind: InAppNoticeKind, locale: Locale, handle: string): string => IN_APP[locale][kind](handle);
