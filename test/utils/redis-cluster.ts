import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type Redis } from 'ioredis';
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

const run = promisify(execFile);
const SLOTS = 16384;

/** One node as CLUSTER NODES describes it. */
export interface ClusterNode extends HostPort {
  id: string;
  role: 'master' | 'replica';
  /** The master's node id, for a replica. */
  masterId?: string;
  /** Slot ranges served, inclusive, for a master. */
  slots: Array<[number, number]>;
  /** Flagged `fail` (or `fail?`) by the node that was asked. */
  failing: boolean;
}

/** A slot left half-way by {@link TestCluster.migrateSlot}. */
export interface SlotMigration {
  slot: number;
  from: ClusterNode;
  to: ClusterNode;
}

/** A 6-node Redis Cluster (3 masters, 3 replicas) on loopback, private to the test that started it. */
export interface TestCluster {
  /** Every node, in port order, running or not. */
  nodes: HostPort[];
  /** The masters that serve slots, as a running node sees them (failed ones left out). */
  masters(): Promise<ClusterNode[]>;
  /** The replicas of the master on `port`. */
  replicasOf(port: number): Promise<ClusterNode[]>;
  /** The master serving `slot`. */
  ownerOf(slot: number): Promise<ClusterNode>;
  /** The slot of a key, as Redis computes it (`CLUSTER KEYSLOT`). */
  slotOf(key: string): Promise<number>;
  /** SIGKILLs one node (a crash: no shutdown, no final save). */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its node id and data, and waits for a healthy cluster. */
  restart(port: number): Promise<void>;
  /**
   * Waits until every running node reports `cluster_state:ok` with all 16384 slots served, they
   * agree on every node's role and which master serves what, and every replica's link to its
   * master is up.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Leaves `slot` half-migrated: `CLUSTER SETSLOT <slot> IMPORTING` on the target (`to`, or another
   * master), `MIGRATING` on the owner, then `MIGRATE` of only the given keys (default `'none'`).
   */
  migrateSlot(slot: number, options?: { keys?: string[] | 'all' | 'none'; to?: number }): Promise<SlotMigration>;
  /** Moves the rest of a half-migrated slot's keys, then `SETSLOT <slot> NODE <target>` on target, source and the other masters. */
  finishMigration(slot: number): Promise<void>;
  /**
   * `redis-cli --cluster reshard` of `count` slots from one master to another (default: the
   * first master to the second), `pipeline` keys per MIGRATE (redis-cli's default 10). Resolves
   * when redis-cli has finished and the cluster is healthy, so traffic can run meanwhile.
   */
  reshard(count: number, options?: { from?: number; to?: number; pipeline?: number }): Promise<{ from: ClusterNode; to: ClusterNode }>;
  /** Stops every node and removes the data directory. */
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** cluster-node-timeout: how long a node may be unreachable before it is failed over. Default 2000 ms. */
  nodeTimeoutMs?: number;
}

/** Parses CLUSTER NODES. Open-migration entries (`[slot->-id]`, `[slot-<-id]`) are left out of `slots`. */
export function parseClusterNodes(text: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const line of text.trim().split('\n')) {
    const [id, address, flags, master, , , , , ...slotFields] = line.trim().split(' ');
    if (!id || !address || !flags || flags.includes('noaddr') || flags.includes('handshake')) continue;
    const match = /^([^:]+):(\d+)@/.exec(address);
    if (!match) continue;
    const flagSet = new Set(flags.split(','));
    const slots: Array<[number, number]> = [];
    for (const field of slotFields) {
      if (field.startsWith('[')) continue;
      const [start, end] = field.split('-').map(Number);
      if (start !== undefined) slots.push([start, end ?? start]);
    }
    const replica = flagSet.has('slave');
    nodes.push({
      id,
      host: match[1]!,
      port: Number(match[2]),
      role: replica ? 'replica' : 'master',
      ...(replica && master && master !== '-' ? { masterId: master } : {}),
      slots,
      failing: flagSet.has('fail') || flagSet.has('fail?'),
    });
  }
  return nodes.sort((a, b) => a.port - b.port);
}

const hasSlot = (node: ClusterNode, slot: number): boolean => node.slots.some(([start, end]) => slot >= start && slot <= end);

/**
 * Starts a real 6-node Redis Cluster (3 masters with a replica each) on free loopback ports
 * whose bus ports (port + 10000) are free too, and waits until it is healthy. Never skips:
 * without redis-server or redis-cli it throws (under CI=true the message says it is a failure).
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  requireRedisBinaries({ cli: true });
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const ports = (await freePorts(6, { busOffset: 10000 })).sort((a, b) => a - b);
  const dir = mkdtempSync(join(tmpdir(), 'nest-warden-cluster-'));
  const processes = new Map<number, RedisProcess>(
    ports.map((port) => [
      port,
      // One directory per node: Redis 7's append-only directory has a fixed name.
      new RedisProcess(port, join(dir, String(port)), [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        // A replica whose link has been down a while still takes over: tests kill masters at will.
        '--cluster-replica-validity-factor',
        '0',
        '--appendonly',
        'yes',
        '--save',
        '',
        // Replicas sync at once, not after Redis' default 5 s wait for more replicas.
        '--repl-diskless-sync-delay',
        '0',
      ]),
    ]),
  );
  const removeExitHook = killOnExit([...processes.values()]);
  const migrations = new Map<number, SlotMigration>();

  const processOf = (port: number): RedisProcess => {
    const node = processes.get(port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  const running = (): number[] => ports.filter((port) => processOf(port).running);

  /** The cluster as one running node sees it (the first that answers). */
  const view = async (): Promise<ClusterNode[]> => {
    let lastError: unknown;
    for (const port of running()) {
      try {
        return parseClusterNodes(String(await onNode(port, (redis) => redis.call('CLUSTER', 'NODES'))));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no cluster node answers: ${lastError instanceof Error ? lastError.message : 'none running'}`);
  };
  const masters = async (): Promise<ClusterNode[]> => (await view()).filter((node) => node.role === 'master' && !node.failing);
  const nodeOn = async (port: number): Promise<ClusterNode> => {
    const node = (await view()).find((candidate) => candidate.port === port);
    if (!node) throw new Error(`port ${port} is not a cluster node`);
    return node;
  };
  const ownerOf = async (slot: number): Promise<ClusterNode> => {
    const owner = (await masters()).find((node) => hasSlot(node, slot));
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner;
  };
  const slotOf = async (key: string): Promise<number> => {
    const port = running()[0];
    if (port === undefined) throw new Error('no cluster node is running');
    return Number(await onNode(port, (redis) => redis.call('CLUSTER', 'KEYSLOT', key)));
  };

  const waitUntilHealthy = async (timeoutMs = 20_000): Promise<void> => {
    let problem = 'not checked yet';
    await waitFor(
      'a healthy cluster',
      async () => {
        const views: string[] = [];
        for (const port of running()) {
          const healthy = await onNode(port, async (redis) => {
            const info = parseInfo(String(await redis.call('CLUSTER', 'INFO')));
            if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== String(SLOTS)) {
              // Its whole view, so a cluster that never heals can be diagnosed from the test output.
              const own = String(await redis.call('CLUSTER', 'NODES'))
                .trim()
                .replace(/\n/g, ' | ');
              problem = `node ${port}: cluster_state ${info.get('cluster_state')}, slots ok ${info.get('cluster_slots_ok')}, pfail ${info.get('cluster_slots_pfail')}, fail ${info.get('cluster_slots_fail')}; its view: ${own}`;
              return false;
            }
            const nodes = parseClusterNodes(String(await redis.call('CLUSTER', 'NODES')));
            const self = nodes.find((node) => node.port === port);
            if (self?.role === 'replica') {
              const replication = parseInfo(await redis.info('replication'));
              if (replication.get('master_link_status') !== 'up') {
                problem = `replica ${port}: master link ${replication.get('master_link_status')}`;
                return false;
              }
            }
            // Running nodes must not be flagged failing, and roles and slot map must be the same everywhere.
            const live = new Set(running());
            const flagged = nodes.find((node) => live.has(node.port) && node.failing);
            if (flagged) {
              problem = `node ${port} still flags ${flagged.port} as failing`;
              return false;
            }
            const portOf = new Map(nodes.map((node) => [node.id, node.port]));
            views.push(JSON.stringify(nodes.map((node) => [node.port, node.role, portOf.get(node.masterId ?? ''), node.slots])));
            return true;
          });
          if (!healthy) return false;
        }
        if (new Set(views).size !== 1) {
          problem = 'the nodes do not agree on the slot map yet';
          return false;
        }
        return true;
      },
      timeoutMs,
      100,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last problem: ${problem}`, { cause: error });
    });
  };

  const migrate = async (from: ClusterNode, to: ClusterNode, keys: string[]): Promise<void> => {
    if (keys.length === 0) return;
    await onNode(from.port, (redis) => redis.call('MIGRATE', to.host, String(to.port), '', '0', '5000', 'KEYS', ...keys));
  };
  const migrateAll = async (slot: number, from: ClusterNode, to: ClusterNode): Promise<void> => {
    for (;;) {
      const keys = (await onNode(from.port, (redis) => redis.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))) as string[];
      if (keys.length === 0) return;
      await migrate(from, to, keys);
    }
  };

  const clusterCli = async (args: string[]): Promise<void> => {
    try {
      await run('redis-cli', ['--cluster', ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`redis-cli --cluster ${args[0]} failed: ${`${stdout}\n${stderr}`.trim().split('\n').slice(-10).join('\n')}`, {
        cause: error,
      });
    }
  };

  const stop = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((node) => node.stop()));
    removeExitHook();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([...processes.values()].map((node) => node.start()));
    await clusterCli(['create', ...ports.map((port) => `${LOOPBACK}:${port}`), '--cluster-replicas', '1', '--cluster-yes']);
    await waitUntilHealthy(30_000);
  } catch (error) {
    const logs = ports.map((port) => `--- node ${port}\n${processOf(port).logTail(5)}`).join('\n');
    await stop();
    throw new Error(`could not start the test cluster: ${error instanceof Error ? error.message : String(error)}\n${logs}`, {
      cause: error,
    });
  }

  return {
    nodes: ports.map((port) => ({ host: LOOPBACK, port })),
    masters,
    replicasOf: async (port) => {
      const nodes = await view();
      const master = nodes.find((node) => node.port === port);
      return master ? nodes.filter((node) => node.masterId === master.id) : [];
    },
    ownerOf,
    slotOf,
    kill: (port) => processOf(port).kill(),
    restart: async (port) => {
      await processOf(port).start();
      // A master that comes back after a failover first rejoins with its stale slot map and is
      // told otherwise by its peers' UPDATE messages; on a loaded machine that takes a while.
      await waitUntilHealthy(45_000);
    },
    waitUntilHealthy,
    migrateSlot: async (slot, { keys = 'none', to } = {}) => {
      if (migrations.has(slot)) throw new Error(`slot ${slot} is already being migrated`);
      const from = await ownerOf(slot);
      const target = to === undefined ? (await masters()).find((node) => node.id !== from.id) : await nodeOn(to);
      if (!target || target.role !== 'master' || target.id === from.id) throw new Error(`no other master to migrate slot ${slot} to`);
      const setSlot = (port: number, ...args: string[]): Promise<unknown> =>
        onNode(port, (redis: Redis) => redis.call('CLUSTER', 'SETSLOT', String(slot), ...args));
      // The target first, so no client is sent an ASK to a node that would answer MOVED.
      await setSlot(target.port, 'IMPORTING', from.id);
      await setSlot(from.port, 'MIGRATING', target.id);
      const migration = { slot, from, to: target };
      migrations.set(slot, migration);
      if (keys === 'all') {
        await migrateAll(slot, from, target);
      } else if (keys !== 'none') {
        for (const key of keys) {
          const keySlot = await slotOf(key);
          if (keySlot !== slot) throw new Error(`key ${key} is in slot ${keySlot}, not ${slot}`);
        }
        await migrate(from, target, keys);
      }
      return migration;
    },
    finishMigration: async (slot) => {
      const migration = migrations.get(slot);
      if (!migration) throw new Error(`slot ${slot} is not being migrated`);
      const { from, to } = migration;
      await migrateAll(slot, from, to);
      // Target, then source, then everyone else, as the Redis Cluster specification orders it.
      const others = (await masters()).filter((node) => node.id !== from.id && node.id !== to.id);
      for (const node of [to, from, ...others]) {
        await onNode(node.port, (redis) => redis.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id));
      }
      migrations.delete(slot);
      await waitUntilHealthy();
    },
    reshard: async (count, { from, to, pipeline } = {}) => {
      await waitUntilHealthy();
      const all = await masters();
      const source = from === undefined ? all[0] : all.find((node) => node.port === from);
      const target = to === undefined ? all.find((node) => node.id !== source?.id) : all.find((node) => node.port === to);
      if (!source || !target || source.id === target.id) throw new Error('reshard needs two different masters');
      await clusterCli([
        'reshard',
        `${source.host}:${source.port}`,
        '--cluster-from',
        source.id,
        '--cluster-to',
        target.id,
        '--cluster-slots',
        String(count),
        '--cluster-yes',
        ...(pipeline === undefined ? [] : ['--cluster-pipeline', String(pipeline)]),
      ]);
      await waitUntilHealthy();
      return { from: source, to: target };
    },
    stop,
  };
}

/**
 * An ioredis Cluster client on `cluster` with the fail-fast settings the store's documentation
 * asks of a client it is given: a few quick retries of TRYAGAIN, then the error (503).
 */
export function failFastClusterClient(cluster: TestCluster): Cluster {
  const client = new Cluster(cluster.nodes, {
    retryDelayOnTryAgain: 20,
    maxRedirections: 6,
    redisOptions: { connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 1 },
  });
  client.on('error', () => undefined);
  return client;
}
