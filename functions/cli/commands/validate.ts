import { readFile } from 'node:fs/promises';
import { ConfigError, parseInventory } from '../../core/config/inventory';
import { type CliIo, EXIT, UsageError } from '../failure';

/** Flags of `acme-ari validate`. */
export interface ValidateArgs {
  readonly file?: string;
  readonly json: boolean;
}

/**
 * `acme-ari validate <file>`: checks an inventory (certificates.json) with the same schema as the CDK app and the
 * Lambdas, and prints every problem at once with its path. Exit 2 when the file is not usable.
 */
export async function validateCommand(args: ValidateArgs, io: CliIo): Promise<number> {
  if (!args.file) throw new UsageError('validate needs a file: acme-ari validate certificates.json');
  let text: string;
  try {
    text = await readFile(args.file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${args.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${args.file} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    const inventory = parseInventory(json, args.file);
    const summary = {
      valid: true,
      certificates: inventory.certificates.map((c) => ({ id: c.id, ca: c.ca, domains: c.domains })),
      problems: [],
    };
    io.out(
      args.json
        ? JSON.stringify(summary, null, 2)
        : `${args.file} is valid: ${inventory.certificates.length} certificate${inventory.certificates.length === 1 ? '' : 's'} (${inventory.certificates.map((c) => c.id).join(', ')})`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (args.json) io.out(JSON.stringify({ valid: false, problems: error.problems }, null, 2));
    else {
      io.err(`${args.file} has ${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}:`);
      for (const p of error.problems) io.err(`  ${p.path}: ${p.message}`);
    }
    return EXIT.usage;
  }
}
