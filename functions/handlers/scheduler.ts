// Placeholder so the CDK app can bundle this entry point while the use case is being written; replaced by the
// real handler in the adapters-and-handlers work.
export const handler = async (): Promise<void> => {
  throw new Error('scheduler handler not wired yet');
};
