import { parseOptions } from '@node-rs/argon2';
import { parseArgs } from 'node:util';
import { isLegacySha256Hash, isOutdatedArgon2Hash, OWASP_ARGON2ID, type Argon2Parameters } from '../auth/passwords/password-hasher.js';
import { integerFrom, parseCommandLine } from './args.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './cli-errors.js';
import type { CliIo, Command } from './cli-io.js';

const NAME = 'hash check';

type Costs = Pick<Argon2Parameters, 'memoryCostKiB' | 'timeCost'>;

const usage = `Usage: nestjs-warden hash check <hash> [--json] [--memory-cost-kib <n>] [--time-cost <n>]
       nestjs-warden hash check - [options] < file

Tells which hasher wrote a stored password hash, with which parameters, and whether nest-warden
stores a new hash for the user at the next successful login (needsRehash), for planning a
migration of a user table. Give "-" to read the hash from standard input, which keeps it out of
your shell history. Only the hasher and its parameters are printed, never the salt or the digest.

Recognised:
  argon2id, argon2i, argon2d  PHC strings ($argon2id$v=19$m=...,t=...,p=...$salt$digest), from
                              Argon2PasswordHasher or another argon2 library. Rehashed when not
                              argon2id, or when m or t is below the hasher's; never downgraded.
  legacy SHA-256              64 hex digits, the unsalted hashes of the Python service: they
                              verify, and become argon2id at the next successful login.
  anything else               unknown: the default hasher does not verify it (exit code 1).
A pepper does not show in a hash: a peppered hash verifies only with the same pepper.

Options:
  --json                 print the result as one JSON object
  --memory-cost-kib <n>  compare with the memoryCostKiB of your Argon2PasswordHasher
                         (default: ${OWASP_ARGON2ID.memoryCostKiB}, the module's default)
  --time-cost <n>        compare with its timeCost (default: ${OWASP_ARGON2ID.timeCost})
  -h, --help             this text

Example:
  psql -Atc "select password_hash from users where id = 42" | nestjs-warden hash check -
`;

/** What `hash check` tells of a hash. */
export interface HashReport {
  hasher: 'argon2id' | 'argon2i' | 'argon2d' | 'legacy-sha256' | 'unknown';
  /** The argon2 parameters, as in the PHC string. */
  parameters?: { version: number; memoryCostKiB: number; timeCost: number; parallelism: number; saltBytes: number; outputBytes: number };
  /** For an unknown hash in modular crypt form: its `$id$`, and the scheme that uses it when known. */
  scheme?: { id: string; name?: string };
  /** Whether the default hasher verifies hashes of this kind. */
  verifies: boolean;
  /** Whether a successful login stores a new hash in its place. */
  rehash: boolean;
  reason: string;
}

const ARGON2_VARIANTS = ['argon2d', 'argon2i', 'argon2id'] as const;
// @node-rs/argon2's Version: 0 is 0x10, 1 is 0x13.
const ARGON2_VERSIONS = [0x10, 0x13] as const;
// Modular crypt ids of hashes other libraries write, to say what an unknown hash probably is.
const OTHER_SCHEMES: Readonly<Record<string, string>> = {
  '2a': 'bcrypt',
  '2b': 'bcrypt',
  '2y': 'bcrypt',
  '1': 'md5-crypt',
  '5': 'sha256-crypt',
  '6': 'sha512-crypt',
  '7': 'scrypt',
  scrypt: 'scrypt',
  y: 'yescrypt',
  'pbkdf2-sha256': 'PBKDF2-SHA256',
  'pbkdf2-sha512': 'PBKDF2-SHA512',
};

/** Tells what a stored hash is, by the module's own recognition and rehash rules. */
export function inspectHash(hash: string, costs: Costs = OWASP_ARGON2ID): HashReport {
  if (isLegacySha256Hash(hash)) {
    return { hasher: 'legacy-sha256', verifies: true, rehash: true, reason: 'a legacy SHA-256 hash is always replaced by argon2id' };
  }
  if (hash.startsWith('$argon2')) {
    let parsed: ReturnType<typeof parseOptions>;
    try {
      parsed = parseOptions(hash);
    } catch {
      return {
        hasher: 'unknown',
        verifies: false,
        rehash: false,
        reason: 'it starts as an argon2 hash but is not a readable PHC string, so it never verifies',
      };
    }
    const hasher = ARGON2_VARIANTS[parsed.algorithm] ?? 'argon2id';
    const parameters = {
      version: ARGON2_VERSIONS[parsed.version] ?? parsed.version,
      memoryCostKiB: parsed.memoryCost,
      timeCost: parsed.timeCost,
      parallelism: parsed.parallelism,
      saltBytes: parsed.saltLen,
      outputBytes: parsed.outputLen,
    };
    const rehash = isOutdatedArgon2Hash(hash, costs);
    const below = [
      ...(hasher === 'argon2id' ? [] : [`${hasher}, not argon2id`]),
      ...(parameters.memoryCostKiB < costs.memoryCostKiB ? [`m=${parameters.memoryCostKiB} KiB is below ${costs.memoryCostKiB}`] : []),
      ...(parameters.timeCost < costs.timeCost ? [`t=${parameters.timeCost} is below ${costs.timeCost}`] : []),
    ];
    const reason = rehash
      ? below.join('; ') || 'its parameters are below the configured ones'
      : `argon2id with m and t at least the hasher's m=${costs.memoryCostKiB} KiB, t=${costs.timeCost}`;
    return { hasher, parameters, verifies: true, rehash, reason };
  }
  const id = /^\$([a-z0-9-]{1,32})\$/i.exec(hash)?.[1];
  // Only a known scheme's id is shown: in a format of one's own, the first segment may be a salt.
  const name = id === undefined || !Object.hasOwn(OTHER_SCHEMES, id) ? undefined : OTHER_SCHEMES[id];
  const scheme = name === undefined ? undefined : { id: `$${id}$`, name };
  return {
    hasher: 'unknown',
    ...(scheme ? { scheme } : {}),
    verifies: false,
    rehash: false,
    reason: 'the default hasher does not verify it, so no login succeeds with it; a PasswordHasher of your own must',
  };
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(NAME, () =>
    parseArgs({
      args,
      options: {
        json: { type: 'boolean', default: false },
        'memory-cost-kib': { type: 'string' },
        'time-cost': { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    }),
  );
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'give a hash, or - to read it from standard input' : 'give one hash at a time', NAME);
  const costs: Costs = {
    memoryCostKiB:
      values['memory-cost-kib'] === undefined
        ? OWASP_ARGON2ID.memoryCostKiB
        : integerFrom(NAME, '--memory-cost-kib', values['memory-cost-kib'], 1),
    timeCost: values['time-cost'] === undefined ? OWASP_ARGON2ID.timeCost : integerFrom(NAME, '--time-cost', values['time-cost'], 1),
  };
  const hash = positionals[0] === '-' ? await readHash(io) : positionals[0]!;
  const report = inspectHash(hash, costs);
  io.write(values.json ? `${JSON.stringify(report)}\n` : describe(report));
  return report.hasher === 'unknown' ? EXIT_FAILURE : EXIT_OK;
}

async function readHash(io: CliIo): Promise<string> {
  if (io.stdinIsTerminal) io.writeError('Paste the hash, then press Enter and Ctrl-D:\n');
  const lines = (await io.readStdin()).split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new UsageError('no hash on standard input', NAME);
  if (lines.length > 1) throw new UsageError('give one hash at a time (standard input has several lines)', NAME);
  return lines[0]!.trim();
}

function describe(report: HashReport): string {
  const hasher =
    report.hasher === 'legacy-sha256'
      ? 'legacy SHA-256 (unsalted, from the Python service)'
      : report.hasher === 'unknown'
        ? `unknown${report.scheme ? `: ${report.scheme.id}${report.scheme.name ? ` (${report.scheme.name})` : ''}` : ''}`
        : report.hasher;
  const lines = [`hasher:     ${hasher}`];
  const p = report.parameters;
  if (p)
    lines.push(
      `parameters: v=${p.version} m=${p.memoryCostKiB} KiB t=${p.timeCost} p=${p.parallelism} (salt ${p.saltBytes} bytes, digest ${p.outputBytes} bytes)`,
    );
  lines.push(`verifies:   ${report.verifies ? 'yes, with Argon2PasswordHasher (the default passwordHasher)' : 'no'}`);
  lines.push(`rehash:     ${report.rehash ? 'yes' : 'no'}: ${report.reason}`);
  return `${lines.join('\n')}\n`;
}

export const hashCheck: Command = { usage, run };
