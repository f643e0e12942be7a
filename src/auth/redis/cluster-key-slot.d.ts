// cluster-key-slot (the Redis Cluster key-slot function ioredis uses) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0 to 16383) of a key, honouring its {hash tag}. */
  export default function generate(key: string | Buffer): number;
}
