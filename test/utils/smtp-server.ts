import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** One message the test server accepted, parsed. */
export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO), as the client gave them. */
  to: string[];
  /** The From header as written, e.g. `"Warden" <no-reply@example.com>`. */
  from: string;
  subject: string;
  text: string;
  /** The HTML part; '' when the message has none. */
  html: string;
  /** The message as received (headers and MIME body). */
  raw: string;
}

export interface TestSmtpServerOptions {
  /** Require this login (PLAIN or LOGIN) before mail is accepted. Default: any login, or none, is accepted. */
  auth?: { user: string; pass: string };
}

/** An SMTP server in this process, on a free loopback port, without TLS. */
export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`, without credentials. */
  url: string;
  port: number;
  /** Every accepted message, in the order received. */
  messages: ReceivedMail[];
  /** The first message (received already or later) that matches; rejects after `timeoutMs`. */
  waitForMail(predicate?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Refuses the next `count` messages at the end of DATA with `responseCode` (451: try again later; 5xx: permanent). */
  failNext(count: number, responseCode?: number): void;
  /** Stops listening and ends every connection; pending waitForMail calls reject. */
  close(): Promise<void>;
}

interface Waiter {
  predicate: (mail: ReceivedMail) => boolean;
  resolve: (mail: ReceivedMail) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Starts a test SMTP server on 127.0.0.1 (port chosen by the system). */
export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<Waiter>();
  let failures: { count: number; responseCode: number } = { count: 0, responseCode: 451 };

  const settle = (mail: ReceivedMail): void => {
    for (const waiter of [...waiters]) {
      if (!waiter.predicate(mail)) continue;
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(mail);
    }
  };

  const receive = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<ReceivedMail> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsed = await simpleParser(raw);
    return {
      to: session.envelope.rcptTo.map((recipient) => recipient.address),
      from: parsed.from?.text ?? '',
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : '',
      raw,
    };
  };

  const server = new SMTPServer({
    name: 'test-smtp.localhost',
    logger: false,
    // Plain SMTP only: no STARTTLS (so no certificate), and logins allowed without it.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: options.auth === undefined,
    authMethods: ['PLAIN', 'LOGIN'],
    // Connections still open at close() are ended after this long.
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      const required = options.auth;
      if (required && (auth.username !== required.user || auth.password !== required.pass)) {
        callback(new Error('Invalid username or password'));
        return;
      }
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      receive(stream, session).then(
        (mail) => {
          if (failures.count > 0) {
            failures = { ...failures, count: failures.count - 1 };
            callback(Object.assign(new Error('Refused by the test server'), { responseCode: failures.responseCode }));
            return;
          }
          messages.push(mail);
          callback(null);
          settle(mail);
        },
        (error: unknown) => {
          // The stream must be consumed before answering; resume() drains whatever is left.
          stream.resume();
          callback(Object.assign(new Error(`The test server could not parse the message: ${String(error)}`), { responseCode: 554 }));
        },
      );
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitForMail(predicate = () => true, timeoutMs = 10_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    failNext(count, responseCode = 451) {
      failures = { count, responseCode };
    },
    async close() {
      for (const waiter of [...waiters]) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.reject(new Error('the test SMTP server was closed'));
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
