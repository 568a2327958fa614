import { Stack, Validations } from 'aws-cdk-lib';
import type { PolicyDocument } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Renders a CloudFormation value the way cdk-nag names it in a finding (`<Logical.Arn>/*`,
 * `arn:<AWS::Partition>:...`), so an acknowledgement names exactly one finding.
 */
export function flattenForFinding(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenForFinding).join(delimiter);
    }
    if ('Fn::Sub' in node) return flattenForFinding(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenForFinding(resource)}.${flattenForFinding(attribute)}>`;
    }
    if ('Fn::ImportValue' in node) return flattenForFinding(node['Fn::ImportValue']);
    if ('Ref' in node) return `<${flattenForFinding(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/** Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources on one construct, with a reason. */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly string[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  for (const resource of resources) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenForFinding(stack.resolve(resource))}]`,
      reason,
    });
  }
}

/** Acknowledges AwsSolutions-IAM5 for exactly these wildcard actions on one construct, with a reason. */
export function acknowledgeWildcardActions(
  scope: IConstruct,
  actions: readonly string[],
  reason: string,
): void {
  for (const action of actions) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
  }
}

/** Every wildcard action and resource of a policy document, as cdk-nag names them. */
export function wildcardsOf(
  scope: IConstruct,
  document: PolicyDocument,
): { actions: string[]; resources: string[] } {
  const resolved = Stack.of(scope).resolve(document.toJSON()) as {
    Statement?: { Action?: string | string[]; Resource?: unknown }[];
  };
  const actions = new Set<string>();
  const resources = new Set<string>();
  for (const statement of resolved.Statement ?? []) {
    for (const action of [statement.Action ?? []].flat()) if (action.includes('*')) actions.add(action);
    for (const resource of [statement.Resource ?? []].flat()) {
      const flat = flattenForFinding(resource);
      if (flat.includes('*')) resources.add(flat);
    }
  }
  return { actions: [...actions], resources: [...resources] };
}
