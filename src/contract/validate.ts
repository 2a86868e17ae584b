import type { StandardSchemaV1 } from '@standard-schema/spec';
import { RpcError } from '../core/errors.js';
import type { Schema } from './define.js';

export interface ValidationIssue {
  path: string;
  message: string;
}

function pathOf(issue: StandardSchemaV1.Issue): string {
  if (!issue.path || issue.path.length === 0) return '';
  return issue.path
    .map((seg) => (typeof seg === 'object' && seg !== null ? seg.key : seg))
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
    .join('')
    .replace(/^\./, '');
}

function fail(what: string, issues: readonly StandardSchemaV1.Issue[]): never {
  const list: ValidationIssue[] = issues.map((i) => ({ path: pathOf(i), message: i.message }));
  const summary = list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new RpcError('INVALID_ARGUMENT', `invalid ${what}: ${summary}`, { details: { issues: list } });
}

/**
 * Validates with any Standard Schema; returns the parsed value (transforms applied).
 * Returns synchronously when the schema does, so the common path allocates no promise.
 */
export function validate(schema: Schema, value: unknown, what: string): unknown | Promise<unknown> {
  if (!('~standard' in schema)) return value;
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    return result.then((r) => (r.issues ? fail(what, r.issues) : r.value));
  }
  return result.issues ? fail(what, result.issues) : result.value;
}

export function hasValidation(schema: Schema): boolean {
  return '~standard' in schema;
}
