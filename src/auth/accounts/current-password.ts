import { isWellFormedText, PASSWORD_INPUT_MAX_LENGTH } from '../passwords/credential-policy.js';
import type { PasswordService } from '../passwords/password.service.js';
import type { LoginDefence } from '../throttle/login-defence.js';
import type { UserRecord } from '../users/user-store.js';

/**
 * Whether `password` is the account's current password, re-entered by a signed-in caller
 * (password change, email change): checked on the account's failure budget like a login.
 * Throws `TooManyAttemptsError` past the budget.
 */
export async function checkCurrentPassword(
  defence: LoginDefence,
  passwords: PasswordService,
  user: Pick<UserRecord, 'id' | 'passwordHash'>,
  password: unknown,
): Promise<boolean> {
  if (typeof password !== 'string' || password.length > PASSWORD_INPUT_MAX_LENGTH || !isWellFormedText(password)) return false;
  const reservation = await defence.admitPasswordCheck(user.id);
  let valid: boolean;
  try {
    valid = (await passwords.check(user.passwordHash, password)).valid;
  } catch (error) {
    await reservation.abandoned();
    throw error;
  }
  await (valid ? reservation.succeeded() : reservation.failed());
  return valid;
}
