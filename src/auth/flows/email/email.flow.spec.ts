import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { AuthModule } from '../../auth.module.js';
import { AuthOptionsError } from '../../auth.errors.js';
import { InMemoryUserStore } from '../../users/in-memory-user.store.js';
import { UserStore, type NewUser, type UserRecord } from '../../users/user-store.js';
import { EmailVerificationService } from './email-verification.service.js';
import { emailFlow } from './email.flow.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes-long';

/** A host's store that keeps no addresses. */
class NamesOnlyUserStore extends UserStore {
  private readonly users = new InMemoryUserStore();
  findByUsername(username: string): Promise<UserRecord | null> {
    return this.users.findByUsername(username);
  }
  findById(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }
  create(user: NewUser): Promise<UserRecord> {
    return this.users.create(user);
  }
  updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    return this.users.updatePasswordHash(userId, passwordHash);
  }
}

describe('emailFlow', () => {
  const flow = () => emailFlow({ appUrl: 'https://app.example.com', production: false, throttle: false });

  it('refuses to start on a user store that keeps no email addresses, naming the option', async () => {
    const compiling = Test.createTestingModule({
      imports: [AuthModule.forRoot({ secret: SECRET, userStore: new NamesOnlyUserStore(), flows: [flow()] })],
    }).compile();
    await expect(compiling).rejects.toBeInstanceOf(AuthOptionsError);
    await expect(
      Test.createTestingModule({
        imports: [AuthModule.forRoot({ secret: SECRET, userStore: new NamesOnlyUserStore(), flows: [flow()] })],
      }).compile(),
    ).rejects.toMatchObject({ option: 'flows' });
  });

  it('starts on the default store, which keeps them', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AuthModule.forRoot({ secret: SECRET, flows: [flow()] })] }).compile();
    expect(moduleRef.get(UserStore).keepsEmail).toBe(true);
    expect(moduleRef.get(EmailVerificationService)).toBeInstanceOf(EmailVerificationService);
    await moduleRef.close();
  });
});
