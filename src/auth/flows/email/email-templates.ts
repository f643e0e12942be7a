/** What a template is given to write a mail. */
export interface EmailTemplateContext {
  /** The app's name (`appName`). */
  appName: string;
  username: string;
  /** The address the mail goes to. */
  email: string;
  /** The link to open (absent from the change notice, which has none). */
  link?: string;
  /** Minutes the link works for. */
  expiresInMinutes?: number;
  /** The new address (email change). */
  newEmail?: string;
}

/** A mail's subject and bodies. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** One function per mail the flow sends; replace any with the `templates` option. Values in `html` must be escaped ({@link escapeHtml}). */
export interface EmailTemplates {
  /** The verification link for the account's address. */
  verifyEmail: (context: EmailTemplateContext) => EmailContent;
  /** The link that confirms a new address, sent to the new address. */
  changeEmail: (context: EmailTemplateContext) => EmailContent;
  /** The notice to the old address that a change was asked for. */
  emailChangeNotice: (context: EmailTemplateContext) => EmailContent;
  /** The password reset link. */
  resetPassword: (context: EmailTemplateContext) => EmailContent;
}

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function linkMail(subject: string, lines: string[], link: string, after: string): EmailContent {
  const text = [...lines, '', link, '', after].join('\n');
  const html =
    lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('') +
    `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>${escapeHtml(after)}</p>`;
  return { subject, text, html };
}

const minutes = (context: EmailTemplateContext): string =>
  context.expiresInMinutes !== undefined && context.expiresInMinutes >= 120
    ? `${Math.round(context.expiresInMinutes / 60)} hours`
    : `${context.expiresInMinutes ?? 0} minutes`;

/** The default texts, in English. */
export const DEFAULT_EMAIL_TEMPLATES: EmailTemplates = {
  verifyEmail: (context) =>
    linkMail(
      `${context.appName}: verify your email address`,
      [`Hello ${context.username},`, `open this link to verify ${context.email} for your ${context.appName} account:`],
      context.link ?? '',
      `The link works once, for ${minutes(context)}. If you did not ask for it, ignore this mail.`,
    ),
  changeEmail: (context) =>
    linkMail(
      `${context.appName}: confirm your new email address`,
      [`Hello ${context.username},`, `open this link to make ${context.email} the address of your ${context.appName} account:`],
      context.link ?? '',
      `The link works once, for ${minutes(context)}. If you did not ask for it, ignore this mail: nothing changes.`,
    ),
  emailChangeNotice: (context) => {
    const lines = [
      `Hello ${context.username},`,
      `someone signed in to your ${context.appName} account asked to change its email address to ${context.newEmail ?? 'another address'}.`,
      'Nothing changes until the link sent to the new address is used. If this was not you, change your password now.',
    ];
    return {
      subject: `${context.appName}: your email address is being changed`,
      text: lines.join('\n'),
      html: lines.map((line) => `<p>${escapeHtml(line)}</p>`).join(''),
    };
  },
  resetPassword: (context) =>
    linkMail(
      `${context.appName}: reset your password`,
      [`Hello ${context.username},`, `open this link to choose a new password for your ${context.appName} account:`],
      context.link ?? '',
      `The link works once, for ${minutes(context)}, and ends every session of the account. If you did not ask for it, ignore this mail: your password stays as it is.`,
    ),
};
