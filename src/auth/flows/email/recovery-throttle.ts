import { Inject, Injectable } from '@nestjs/common';
import { TooManyAttemptsError } from '../../auth.errors.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { LoginDefence } from '../../throttle/login-defence.js';
import { EMAIL_FLOW_CONFIG, type EmailFlowConfig } from './email-flow.options.js';

/** The flow's request budgets (per account and per client IP, each route its own) on the login defence's store. */
@Injectable()
export class RecoveryThrottle {
  constructor(
    private readonly defence: LoginDefence,
    @Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig,
  ) {}

  /**
   * Counts a request to `route` from the client and, when given, for `account` (a user id, or
   * the address or username asked about); throws `TooManyAttemptsError` past a limit.
   */
  async admit(route: string, meta: RequestMeta, account?: string): Promise<void> {
    const limits = this.config.throttle;
    if (!limits) return;
    const client = this.defence.clientKey(meta);
    const budgets = [
      ...(client === null ? [] : [{ key: `email-flow:${route}:ip:${client}`, limit: limits.maxPerIp }]),
      ...(account === undefined ? [] : [{ key: `email-flow:${route}:account:${account}`, limit: limits.maxPerAccount }]),
    ];
    await this.defence.admitRequest(budgets, limits.windowSeconds, 'Too many requests; try again later');
  }

  /**
   * Counts one mail to `userId` on `route`'s account budget, and says whether it may go: for the
   * work done after a response (a resolved account), where a 429 would tell that the account exists.
   */
  async allowsMail(route: string, userId: string): Promise<boolean> {
    const limits = this.config.throttle;
    if (!limits) return true;
    try {
      await this.defence.admitRequest(
        [{ key: `email-flow:${route}:user:${userId}`, limit: limits.maxPerAccount }],
        limits.windowSeconds,
        '',
      );
      return true;
    } catch (error) {
      if (error instanceof TooManyAttemptsError) return false;
      throw error;
    }
  }
}
