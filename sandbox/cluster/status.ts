import { qualifiedName, type ResourceDef } from './resources';

/** Kubernetes answers every error with a `Status` object; clients parse reason and code from it. */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export function statusBody(err: ApiError): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    ...(err.details ? { details: err.details } : {}),
    code: err.code,
  };
}

export function successStatus(details: StatusDetails): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

function target(res: ResourceDef, name?: string): StatusDetails {
  return { ...(name !== undefined ? { name } : {}), group: res.group, kind: res.plural };
}

export function notFound(res: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedName(res)} "${name}" not found`, target(res, name));
}

export function alreadyExists(res: ResourceDef, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedName(res)} "${name}" already exists`,
    target(res, name),
  );
}

export function conflict(res: ResourceDef, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(res)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    target(res, name),
  );
}

export interface FieldError {
  field: string;
  /** What follows "Invalid value: <value>: " or a full message when value is undefined. */
  detail: string;
  value?: unknown;
  /** The value as Go's %#v prints it, when JSON would not read like the API server's message. */
  display?: string;
  type?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueNotSupported';
  /** For FieldValueNotSupported: the values that are. */
  supported?: string[];
}

function describeFieldError(e: FieldError): string {
  if (e.type === 'FieldValueRequired') return `Required value${e.detail ? `: ${e.detail}` : ''}`;
  if (e.type === 'FieldValueForbidden') return `Forbidden: ${e.detail}`;
  if (e.type === 'FieldValueNotSupported') {
    const values = (e.supported ?? []).map((v) => `"${v}"`).join(', ');
    return `Unsupported value: ${JSON.stringify(e.value)}: supported values: ${values}`;
  }
  const shown = e.display ?? (typeof e.value === 'string' ? `"${e.value}"` : JSON.stringify(e.value));
  return `Invalid value: ${shown}: ${e.detail}`;
}

/** A kind as validation messages name it: `Deployment.apps`, `Scale.autoscaling`, `Pod`. */
export interface KindRef {
  group: string;
  kind: string;
}

export function invalid(kind: KindRef, name: string, errors: FieldError[]): ApiError {
  const causes = errors.map((e) => ({
    reason: e.type ?? 'FieldValueInvalid',
    message: describeFieldError(e),
    field: e.field,
  }));
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const kindName = kind.group === '' ? kind.kind : `${kind.kind}.${kind.group}`;
  return new ApiError(422, 'Invalid', `${kindName} "${name}" is invalid: ${summary}`, {
    name,
    group: kind.group,
    kind: kind.kind,
    causes,
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** The API server answers a patch that cannot be applied with 422 and no details. */
export function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}
