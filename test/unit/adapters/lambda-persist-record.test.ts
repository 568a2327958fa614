import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaPersistRecordWriter } from '../../../functions/adapters/lambda-persist-record';
import type { PersistRecordRequest } from '../../../functions/core/contracts/persist-record';
import { hasCode } from '../../../functions/core/errors';

const client = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const lambda = mockClient(client);
const request: PersistRecordRequest = {
  kind: 'persist-record',
  certificateId: 'www',
  records: [
    { domain: 'example.com', value: 'ca.example; accounturi=https://ca.example/acct/1; persistUntil=1' },
  ],
};
// Lambda's SDK types the payload as its blob adapter; the writer only reads the bytes.
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];
const writer = () =>
  new LambdaPersistRecordWriter({
    functionName: 'first-import',
    client,
    retry: { sleep: async () => {}, random: () => 1 },
  });
const failure = (promise: Promise<unknown>) => promise.catch((e: unknown) => e);

beforeEach(() => lambda.reset());

describe('LambdaPersistRecordWriter', () => {
  it('invokes the first-import function synchronously with the request and returns what it wrote', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: encode({ written: ['_validation-persist.example.com'] }) });
    expect(await writer().write(request)).toEqual({ written: ['_validation-persist.example.com'] });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'first-import', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual(request);
  });

  it("reports the function's own error as dns-failed, naming the certificate", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'AcmeAwsError',
        errorMessage: 'other.example.com is not a domain of "www"',
      }),
    });
    const error = await failure(writer().write(request));
    expect(hasCode(error, 'dns-failed')).toBe(true);
    expect((error as Error).message).toMatch(/records of "www".*not a domain of "www"/);
  });

  it('reports a refused invoke as dns-failed', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    expect(hasCode(await failure(writer().write(request)), 'dns-failed')).toBe(true);
  });

  it('refuses an answer that is not a write result', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ region: 'us-east-1' }) });
    const error = await failure(writer().write(request));
    expect(hasCode(error, 'dns-failed')).toBe(true);
    expect((error as Error).message).toMatch(/not a write result/);
  });
});
