import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  freePorts,
  killOnExit,
  LOOPBACK,
  onNode,
  parseInfo,
  RedisProcess,
  requireRedisBinaries,
  waitFor,
  type HostPort,
} from './redis-process.js';

export type { HostPort } from './redis-process.js';

/** A master, one replica and three sentinels on loopback, private to the test that started them. */
export interface TestSentinel {
  /** The three sentinels, for ioredis' `sentinels` option. */
  sentinels: HostPort[];
  /** The monitored master's name, for ioredis' `name` option (`"nw-master"`). */
  name: string;
  /** The two data nodes (master and replica at the start), in start order. */
  nodes: HostPort[];
  /** The master as the first answering sentinel reports it. */
  master(): Promise<HostPort>;
  /** SIGKILLs the current master (a crash); resolves with its address. */
  killMaster(): Promise<HostPort>;
  /**
   * Waits until every sentinel reports a master other than `from`, and that node says it is a
   * master. Resolves with the promoted node.
   */
  waitForFailover(from: HostPort, timeoutMs?: number): Promise<HostPort>;
  /** Starts a killed data node again on its port (the sentinels then make it a replica). */
  restart(port: number): Promise<void>;
  /** Stops every process and removes the data directory. */
  stop(): Promise<void>;
}

export interface TestSentinelOptions {
  /** `down-after-milliseconds`: how long the master may be unreachable before it is failed over. Default 1000. */
  downAfterMs?: number;
  /** `failover-timeout`. Default 2000 ms (a failed attempt is retried after twice this). */
  failoverTimeoutMs?: number;
}

const NAME = 'nw-master';

/** SENTINEL MASTER / REPLICAS replies (flat field, value arrays) as maps. */
const asFields = (reply: unknown): Map<string, string> => {
  const flat = reply as string[];
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  return fields;
};

/**
 * Starts a master, a replica of it (`--replicaof`) and three sentinels (`redis-server <conf>
 * --sentinel`, quorum 2) on free loopback ports, and waits until every sentinel sees the master,
 * the synced replica and the two other sentinels. Never skips: without redis-server it throws.
 */
export async function startTestSentinel(options: TestSentinelOptions = {}): Promise<TestSentinel> {
  requireRedisBinaries();
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 2000;
  const [masterPort, replicaPort, ...sentinelPorts] = (await freePorts(5)) as [number, number, number, number, number];
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-sentinel-'));
  // The replica syncs at once, not after Redis' default 5 s wait for more replicas.
  const dataArgs = ['--appendonly', 'yes', '--save', '', '--repl-diskless-sync-delay', '0'];
  const data = new Map<number, RedisProcess>([
    [masterPort, new RedisProcess(masterPort, join(dir, String(masterPort)), dataArgs)],
    [
      replicaPort,
      new RedisProcess(replicaPort, join(dir, String(replicaPort)), [...dataArgs, '--replicaof', LOOPBACK, String(masterPort)]),
    ],
  ]);
  const sentinels = sentinelPorts.map((port) => {
    // A sentinel rewrites its config file, so each has its own.
    const configFile = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      configFile,
      [
        'protected-mode no',
        `sentinel monitor ${NAME} ${LOOPBACK} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${NAME} ${downAfterMs}`,
        `sentinel failover-timeout ${NAME} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${NAME} 1`,
        '',
      ].join('\n'),
    );
    return new RedisProcess(port, join(dir, String(port)), ['--sentinel'], configFile);
  });
  const all = [...data.values(), ...sentinels];
  const removeExitHook = killOnExit(all);

  const askSentinels = async (): Promise<HostPort[]> => {
    const answers: HostPort[] = [];
    for (const port of sentinelPorts) {
      const reply = (await onNode(port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME))) as [string, string] | null;
      if (reply) answers.push({ host: reply[0], port: Number(reply[1]) });
    }
    return answers;
  };
  const master = async (): Promise<HostPort> => {
    let lastError: unknown;
    for (const port of sentinelPorts) {
      try {
        const reply = (await onNode(port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME))) as [string, string] | null;
        if (reply) return { host: reply[0], port: Number(reply[1]) };
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no sentinel knows ${NAME}: ${lastError instanceof Error ? lastError.message : 'no answer'}`);
  };
  const dataNode = (port: number): RedisProcess => {
    const node = data.get(port);
    if (!node) throw new Error(`no data node on port ${port}`);
    return node;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(all.map((node) => node.stop()));
    removeExitHook();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([...data.values()].map((node) => node.start()));
    // Sentinels first look for replicas in the master's INFO when they connect, then only every
    // 10 s: start them once the replica is attached and synced.
    await waitFor(
      'the replica to sync with the master',
      async () => parseInfo(await onNode(replicaPort, (redis) => redis.info('replication'))).get('master_link_status') === 'up',
      20_000,
    );
    await Promise.all(sentinels.map((node) => node.start()));
    let problem = 'not checked yet';
    await waitFor(
      'sentinels that see the master, its synced replica and each other',
      async () => {
        for (const port of sentinelPorts) {
          const seen = await onNode(port, async (redis) => ({
            master: asFields(await redis.call('SENTINEL', 'MASTER', NAME)),
            replicas: ((await redis.call('SENTINEL', 'REPLICAS', NAME)) as unknown[]).map(asFields),
          }));
          const replica = seen.replicas.find((fields) => fields.get('port') === String(replicaPort));
          if (
            seen.master.get('flags') !== 'master' ||
            seen.master.get('num-other-sentinels') !== '2' ||
            replica?.get('flags') !== 'slave'
          ) {
            problem = `sentinel ${port}: master flags ${seen.master.get('flags')}, other sentinels ${seen.master.get('num-other-sentinels')}, replica flags ${replica?.get('flags')}`;
            return false;
          }
        }
        return true;
      },
      20_000,
      100,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last problem: ${problem}`, { cause: error });
    });
  } catch (error) {
    const logs = all.map((node) => `--- ${node.port}\n${node.logTail(5)}`).join('\n');
    await stop();
    throw new Error(`could not start the test sentinels: ${error instanceof Error ? error.message : String(error)}\n${logs}`, {
      cause: error,
    });
  }

  return {
    sentinels: sentinelPorts.map((port) => ({ host: LOOPBACK, port })),
    name: NAME,
    nodes: [masterPort, replicaPort].map((port) => ({ host: LOOPBACK, port })),
    master,
    killMaster: async () => {
      const current = await master();
      await dataNode(current.port).kill();
      return current;
    },
    waitForFailover: (from, timeoutMs = 20_000) =>
      waitFor(
        `a failover away from port ${from.port}`,
        async () => {
          const answers = await askSentinels();
          const promoted = answers[0];
          if (answers.length !== sentinelPorts.length || !promoted || answers.some((answer) => answer.port !== promoted.port)) return false;
          if (promoted.port === from.port) return false;
          const role = parseInfo(await onNode(promoted.port, (redis) => redis.info('replication'))).get('role');
          return role === 'master' ? promoted : false;
        },
        timeoutMs,
        100,
      ),
    restart: (port) => dataNode(port).start(),
    stop,
  };
}

/** An ioredis Sentinel client on `sentinel` with the fail-fast settings the store's documentation asks for. */
export function failFastSentinelClient(sentinel: TestSentinel): Redis {
  const client = new Redis({
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
  });
  client.on('error', () => undefined);
  return client;
}
