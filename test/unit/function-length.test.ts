import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** The longest body a function in the shipped code may have (issue 11: "functions ≤ ~80 lines"). */
const MAX_LINES = 80;

interface FunctionSpan {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

/** Every tracked TypeScript file under functions/ and infra/. */
function trackedSources(): string[] {
  return execFileSync('git', ['ls-files', 'functions/*.ts', 'infra/*.ts'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.ts'));
}

/** A readable name for a function-like node: its own name, the variable or property it is assigned to, or its kind. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) {
    const owner = node.parent;
    return `${ts.isClassLike(owner) && owner.name ? owner.name.text : 'class'}.constructor`;
  }
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name) {
    return parent.name.getText(source);
  }
  return `<${ts.SyntaxKind[node.kind]}>`;
}

/** Every function-like node of one file with a block body, with the number of lines that body spans. */
function functionSpans(file: string): FunctionSpan[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body && ts.isBlock(node.body)) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(fn.body!.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(fn.body!.getEnd()).line;
      const line = source.getLineAndCharacterOfPosition(fn.getStart(source)).line + 1;
      spans.push({ file, line, name: nameOf(fn, source), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

describe('function length', () => {
  const spans = trackedSources().flatMap(functionSpans);

  it('measures the functions of the shipped code (a walk that finds none would prove nothing)', () => {
    expect(spans.filter((s) => s.file.startsWith('functions/')).length).toBeGreaterThan(100);
    expect(spans.filter((s) => s.file.startsWith('infra/')).length).toBeGreaterThan(10);
  });

  it(`keeps every function body in functions/ and infra/ within ${MAX_LINES} lines`, () => {
    const offenders = spans
      .filter((s) => s.lines > MAX_LINES)
      .map((s) => `${s.file}:${s.line} ${s.name} (${s.lines} lines)`);
    expect(offenders).toEqual([]);
  });
});
