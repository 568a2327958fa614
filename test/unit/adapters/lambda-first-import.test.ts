import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaFirstImporter } from '../../../functions/adapters/lambda-first-import';
import { hasCode } from '../../../functions/core/errors';

const client = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const lambda = mockClient(client);
const request = { certificateId: 'www', region: 'eu-west-1', serial: '0a1b', keyType: 'ec-p256' as const };
// Lambda's SDK types the payload as its blob adapter; the importer only reads the bytes.
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];
const importer = () =>
  new LambdaFirstImporter({
    functionName: 'first-import',
    client,
    retry: { sleep: async () => {}, random: () => 1 },
  });

beforeEach(() => lambda.reset());

describe('LambdaFirstImporter', () => {
  it('invokes the function synchronously with the request alone and returns its answer', async () => {
    const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/new';
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: encode({ region: 'eu-west-1', arn, imported: true }) });
    expect(await importer().importNew(request)).toEqual({ region: 'eu-west-1', arn, imported: true });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'first-import', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual(request);
  });

  it("reports the function's own error as import-failed, naming the certificate and region", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'AcmeAwsError',
        errorMessage: 'the stored certificate of "www" is serial 99',
      }),
    });
    const error = await importer()
      .importNew(request)
      .catch((e: unknown) => e);
    expect(hasCode(error, 'import-failed')).toBe(true);
    expect((error as Error).message).toMatch(
      /first import of "www" into eu-west-1.*AcmeAwsError: the stored certificate/,
    );
  });

  it('refuses an answer that is not an import result', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ arn: 'not-an-arn' }) });
    const error = await importer()
      .importNew(request)
      .catch((e: unknown) => e);
    expect(hasCode(error, 'import-failed')).toBe(true);
    expect((error as Error).message).toMatch(/not an import result/);
  });
});
