import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Argon2ThreadError, Argon2Threads, type Argon2Job } from './argon2-threads.js';
import { Argon2PasswordHasher } from './password-hasher.js';

const HASH: Argon2Job = {
  op: 'hash',
  password: 'a password to hash',
  options: { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 },
};

// This process's threads and their nice values, from /proc (Linux).
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      // Fields after "(comm)": state is the 3rd field of stat, nice the 19th.
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended while being read
    }
  }
  return nices;
}

function newThreads(before: Map<number, number>): Array<[number, number]> {
  return [...threadNices()].filter(([tid]) => !before.has(tid));
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

// The tests below count the threads a test starts; libuv's pool starts lazily on the first
// asynchronous file read, so start it first.
beforeAll(async () => {
  await readFile(new URL(import.meta.url));
});

describe('Argon2Threads', () => {
  it('hashes and verifies on its threads', async () => {
    const threads = new Argon2Threads(1, true);
    try {
      const hash = (await threads.run(HASH)) as string;
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=4096,t=1,p=1\$/);
      await expect(threads.run({ op: 'verify', hash, password: 'a password to hash', options: {} })).resolves.toBe(true);
      await expect(threads.run({ op: 'verify', hash, password: 'another password', options: {} })).resolves.toBe(false);
      await expect(threads.run({ op: 'verify', hash: '$argon2id$garbage', password: 'x', options: {} })).rejects.toThrow();
    } finally {
      await threads.close();
    }
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new Argon2Threads(0, true)).toThrow(TypeError);
    expect(() => new Argon2Threads(1.5, true)).toThrow(TypeError);
  });

  // These read this process's threads from /proc: the suite runs on Linux, as CI does.
  describe('threads and their priority', () => {
    it.each([
      [true, 'at nice 19'],
      [false, "at the calling thread's priority"],
    ])('with lowPriority %s, runs argon2 on a thread of its own %s, leaving the calling thread as it was', async (lowPriority) => {
      const mainNice = threadNices().get(process.pid)!;
      const before = threadNices();
      const threads = new Argon2Threads(1, lowPriority);
      try {
        await threads.run(HASH);
        expect(newThreads(before).map(([, nice]) => nice)).toEqual([lowPriority ? 19 : mainNice]);
        expect(threadNices().get(process.pid)).toBe(mainNice);
      } finally {
        await threads.close();
      }
    });

    it('never starts more than size threads; further jobs wait and all complete', async () => {
      const before = threadNices();
      const threads = new Argon2Threads(2, true);
      try {
        const hashes = await Promise.all(Array.from({ length: 6 }, () => threads.run(HASH)));
        expect(new Set(hashes).size).toBe(6);
        expect(newThreads(before)).toHaveLength(2);
      } finally {
        await threads.close();
      }
    });

    it('close ends its threads and rejects the jobs in flight and waiting', async () => {
      const before = threadNices();
      const threads = new Argon2Threads(1, true);
      const slow: Argon2Job = { ...HASH, options: { ...HASH.options, memoryCost: 65536, timeCost: 3 } };
      const inFlight = threads.run(slow);
      const waiting = threads.run(slow);
      const rejected = [expect(inFlight).rejects.toThrow(Argon2ThreadError), expect(waiting).rejects.toThrow(Argon2ThreadError)];
      await waitFor(() => newThreads(before).length === 1);
      await threads.close();
      await Promise.all(rejected);
      await waitFor(() => newThreads(before).length === 0);
    });
  });
});

describe('Argon2PasswordHasher threads', () => {
  describe('threads', () => {
    it('shares one set of threads between hashers with the same settings', async () => {
      const before = threadNices();
      const a = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1, threads: 1, lowPriority: false });
      const b = new Argon2PasswordHasher({ memoryCostKiB: 4096, timeCost: 1, threads: 1, lowPriority: false });
      const [hashA, hashB] = await Promise.all([a.hash('shared threads'), b.hash('shared threads')]);
      expect((await b.verify(hashA, 'shared threads')).valid).toBe(true);
      expect((await a.verify(hashB, 'shared threads')).valid).toBe(true);
      expect(newThreads(before)).toHaveLength(1);
      await Argon2Threads.shared(1, false).close();
    });
  });

  it('throws Argon2ThreadError, not "wrong password", when its thread fails mid-verify', async () => {
    const hasher = new Argon2PasswordHasher({ threads: 3, lowPriority: false });
    const hash = await hasher.hash('a password that is right');
    const verifying = hasher.verify(hash, 'a password that is right');
    const rejected = expect(verifying).rejects.toThrow(Argon2ThreadError);
    await Argon2Threads.shared(3, false).close();
    await rejected;
    // The next check starts a new thread and answers.
    expect(await hasher.verify(hash, 'a password that is right')).toEqual({ valid: true, needsRehash: false });
    await Argon2Threads.shared(3, false).close();
  });

  it('rejects a thread count out of range', () => {
    expect(() => new Argon2PasswordHasher({ threads: 0 })).toThrow(/threads/);
    expect(() => new Argon2PasswordHasher({ threads: 257 })).toThrow(/threads/);
  });
});
