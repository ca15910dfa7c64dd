import { badRequest, unsupportedMediaType } from './status';

/**
 * The Kubernetes protobuf encoding, read for the objects kubectl's generators send that
 * way (`create deployment|job|service|namespace`, `autoscale`: typed clients that ask for
 * `application/vnd.kubernetes.protobuf`): the `k8s\0` envelope, runtime.Unknown, then the
 * object by field number. Only the fields below are read (what those generators and a
 * test's manifest may set); others are skipped, as an older server skips newer fields.
 * The field numbers are the API's wire contract (k8s.io/api's generated.proto files).
 */

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

type Scalar = 'string' | 'int' | 'bool' | 'quantity' | 'intOrString' | 'time' | 'stringMap' | 'quantityMap';
interface Field {
  name: string;
  type: Scalar | Schema;
  repeated?: true;
  /** A Go field that is no pointer and `omitempty`: Go's encoder writes its zero, JSON leaves it out. */
  omitZero?: true;
}
interface Schema {
  [field: number]: Field;
}

const f = (name: string, type: Scalar | Schema, flag?: 'repeated' | 'omitZero'): Field =>
  flag === 'repeated'
    ? { name, type, repeated: true }
    : flag
      ? { name, type, omitZero: true }
      : { name, type };

const OWNER_REFERENCE: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('controller', 'bool'),
  7: f('blockOwnerDeletion', 'bool'),
};
const OBJECT_META: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int', 'omitZero'),
  8: f('creationTimestamp', 'time'),
  11: f('labels', 'stringMap'),
  12: f('annotations', 'stringMap'),
  13: f('ownerReferences', OWNER_REFERENCE, 'repeated'),
  14: f('finalizers', 'string', 'repeated'),
};
const LABEL_SELECTOR: Schema = {
  1: f('matchLabels', 'stringMap'),
  2: f(
    'matchExpressions',
    { 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', 'repeated') },
    'repeated',
  ),
};
const CONTAINER: Schema = {
  1: f('name', 'string'),
  2: f('image', 'string'),
  3: f('command', 'string', 'repeated'),
  4: f('args', 'string', 'repeated'),
  5: f('workingDir', 'string'),
  6: f(
    'ports',
    {
      1: f('name', 'string'),
      2: f('hostPort', 'int', 'omitZero'),
      3: f('containerPort', 'int'),
      4: f('protocol', 'string'),
    },
    'repeated',
  ),
  7: f('env', { 1: f('name', 'string'), 2: f('value', 'string') }, 'repeated'),
  8: f('resources', { 1: f('limits', 'quantityMap'), 2: f('requests', 'quantityMap') }),
  13: f('terminationMessagePath', 'string'),
  14: f('imagePullPolicy', 'string'),
  16: f('stdin', 'bool', 'omitZero'),
  17: f('stdinOnce', 'bool', 'omitZero'),
  18: f('tty', 'bool', 'omitZero'),
  20: f('terminationMessagePolicy', 'string'),
};
const POD_SPEC: Schema = {
  2: f('containers', CONTAINER, 'repeated'),
  3: f('restartPolicy', 'string'),
  4: f('terminationGracePeriodSeconds', 'int'),
  5: f('activeDeadlineSeconds', 'int'),
  6: f('dnsPolicy', 'string'),
  7: f('nodeSelector', 'stringMap'),
  8: f('serviceAccountName', 'string'),
  9: f('serviceAccount', 'string'),
  10: f('nodeName', 'string'),
  16: f('hostname', 'string'),
  19: f('schedulerName', 'string'),
  20: f('initContainers', CONTAINER, 'repeated'),
  21: f('automountServiceAccountToken', 'bool'),
  24: f('priorityClassName', 'string'),
};
const POD_TEMPLATE: Schema = { 1: f('metadata', OBJECT_META), 2: f('spec', POD_SPEC) };
const DEPLOYMENT_SPEC: Schema = {
  1: f('replicas', 'int'),
  2: f('selector', LABEL_SELECTOR),
  3: f('template', POD_TEMPLATE),
  4: f('strategy', {
    1: f('type', 'string'),
    2: f('rollingUpdate', { 1: f('maxUnavailable', 'intOrString'), 2: f('maxSurge', 'intOrString') }),
  }),
  5: f('minReadySeconds', 'int', 'omitZero'),
  6: f('revisionHistoryLimit', 'int'),
  7: f('paused', 'bool', 'omitZero'),
  9: f('progressDeadlineSeconds', 'int'),
};
const JOB_SPEC: Schema = {
  1: f('parallelism', 'int'),
  2: f('completions', 'int'),
  3: f('activeDeadlineSeconds', 'int'),
  4: f('selector', LABEL_SELECTOR),
  5: f('manualSelector', 'bool'),
  6: f('template', POD_TEMPLATE),
  7: f('backoffLimit', 'int'),
  8: f('ttlSecondsAfterFinished', 'int'),
  9: f('completionMode', 'string'),
  10: f('suspend', 'bool'),
  12: f('backoffLimitPerIndex', 'int'),
  13: f('maxFailedIndexes', 'int'),
  14: f('podReplacementPolicy', 'string'),
  15: f('managedBy', 'string'),
};
const SERVICE_SPEC: Schema = {
  1: f(
    'ports',
    {
      1: f('name', 'string'),
      2: f('protocol', 'string'),
      3: f('port', 'int'),
      // Unset, it comes as the zero IntOrString; left out, the server's default (the port) applies.
      4: f('targetPort', 'intOrString', 'omitZero'),
      5: f('nodePort', 'int', 'omitZero'),
      6: f('appProtocol', 'string'),
    },
    'repeated',
  ),
  2: f('selector', 'stringMap'),
  3: f('clusterIP', 'string'),
  4: f('type', 'string'),
  5: f('externalIPs', 'string', 'repeated'),
  7: f('sessionAffinity', 'string'),
  10: f('externalName', 'string'),
};
const SCALE_TARGET: Schema = { 1: f('kind', 'string'), 2: f('name', 'string'), 3: f('apiVersion', 'string') };
const METRIC_TARGET: Schema = {
  1: f('type', 'string'),
  2: f('value', 'quantity'),
  3: f('averageValue', 'quantity'),
  4: f('averageUtilization', 'int'),
};
const HPA_V2_SPEC: Schema = {
  1: f('scaleTargetRef', SCALE_TARGET),
  2: f('minReplicas', 'int'),
  3: f('maxReplicas', 'int'),
  4: f(
    'metrics',
    {
      1: f('type', 'string'),
      4: f('resource', { 1: f('name', 'string'), 2: f('target', METRIC_TARGET) }),
      7: f('containerResource', {
        1: f('name', 'string'),
        2: f('target', METRIC_TARGET),
        3: f('container', 'string'),
      }),
    },
    'repeated',
  ),
};
const HPA_V1_SPEC: Schema = {
  1: f('scaleTargetRef', SCALE_TARGET),
  2: f('minReplicas', 'int'),
  3: f('maxReplicas', 'int'),
  4: f('targetCPUUtilizationPercentage', 'int'),
};

/** The kinds read from protobuf, by `apiVersion/kind`; a status (field 3) is the server's to write. */
const OBJECTS: Record<string, Schema> = {
  'v1/Namespace': { 1: f('metadata', OBJECT_META) },
  'v1/Service': { 1: f('metadata', OBJECT_META), 2: f('spec', SERVICE_SPEC) },
  'apps/v1/Deployment': { 1: f('metadata', OBJECT_META), 2: f('spec', DEPLOYMENT_SPEC) },
  'batch/v1/Job': { 1: f('metadata', OBJECT_META), 2: f('spec', JOB_SPEC) },
  'autoscaling/v2/HorizontalPodAutoscaler': { 1: f('metadata', OBJECT_META), 2: f('spec', HPA_V2_SPEC) },
  'autoscaling/v1/HorizontalPodAutoscaler': { 1: f('metadata', OBJECT_META), 2: f('spec', HPA_V1_SPEC) },
};
/** runtime.TypeMeta, in the envelope (its numbers differ from metav1.TypeMeta's). */
const TYPE_META: Schema = { 1: f('apiVersion', 'string'), 2: f('kind', 'string') };

const MAGIC = Buffer.from('k8s\0', 'latin1');

/** A protobuf request body as the JSON object it encodes. */
export function decodeObject(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest('the protobuf body does not start with the k8s envelope');
  }
  const envelope = new Reader(body.subarray(MAGIC.length));
  let typeMeta: Record<string, unknown> = {};
  let raw: Buffer | undefined;
  while (!envelope.done()) {
    const { field, wire } = envelope.tag();
    if (field === 1 && wire === LENGTH) typeMeta = decodeMessage(envelope.bytes(), TYPE_META);
    else if (field === 2 && wire === LENGTH) raw = envelope.bytes();
    else envelope.skip(wire);
  }
  const apiVersion = String(typeMeta.apiVersion ?? '');
  const kind = String(typeMeta.kind ?? '');
  const schema = OBJECTS[`${apiVersion}/${kind}`];
  if (!schema) {
    throw unsupportedMediaType(`${PROTOBUF} of ${apiVersion || '?'} ${kind || '?'}`, [
      'application/json',
      `${PROTOBUF} of ${Object.keys(OBJECTS).join(', ')}`,
    ]);
  }
  return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), schema) };
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

function decodeMessage(bytes: Buffer, schema: Schema): Record<string, unknown> {
  const reader = new Reader(bytes);
  const out: Record<string, unknown> = {};
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    const def = schema[field];
    if (!def) {
      reader.skip(wire);
      continue;
    }
    const value = readValue(reader, wire, def);
    if (value === undefined || (def.omitZero && (value === 0 || value === false))) continue;
    const before = out[def.name];
    // A repeated field and a map come one element, one entry, at a time.
    if (def.repeated) out[def.name] = [...((before as unknown[] | undefined) ?? []), value];
    else if (def.type === 'stringMap' || def.type === 'quantityMap')
      out[def.name] = { ...(before as object), ...(value as object) };
    else out[def.name] = value;
  }
  return out;
}

function readValue(reader: Reader, wire: number, def: Field): unknown {
  const { type } = def;
  if (typeof type === 'object') return decodeMessage(expect(reader, wire, LENGTH, def), type);
  switch (type) {
    case 'string': {
      // Go's encoder writes every string field, empty ones too, where JSON leaves them out.
      const text = expect(reader, wire, LENGTH, def).toString('utf8');
      return text === '' && !def.repeated ? undefined : text;
    }
    case 'int':
      if (wire !== VARINT) throw wrongWire(def);
      return Number(BigInt.asIntN(64, reader.varint()));
    case 'bool':
      if (wire !== VARINT) throw wrongWire(def);
      return reader.varint() !== 0n;
    case 'quantity':
      return decodeMessage(expect(reader, wire, LENGTH, def), QUANTITY).string ?? '0';
    case 'intOrString': {
      const v = decodeMessage(expect(reader, wire, LENGTH, def), INT_OR_STRING);
      return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
    case 'time': {
      const t = decodeMessage(expect(reader, wire, LENGTH, def), TIME);
      // The zero time is how Go's encoder writes an unset one: JSON shows it as absent.
      const seconds = Number(t.seconds ?? 0);
      return seconds === 0 ? undefined : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
    }
    case 'stringMap':
    case 'quantityMap': {
      const entry = decodeMessage(expect(reader, wire, LENGTH, def), MAP_ENTRY[type]);
      return { [String(entry.key ?? '')]: entry.value ?? (type === 'stringMap' ? '' : '0') };
    }
  }
}

/** The apimachinery messages the scalar kinds above are made of, and a map's entries. */
const QUANTITY: Schema = { 1: f('string', 'string') };
const INT_OR_STRING: Schema = { 1: f('type', 'int'), 2: f('intVal', 'int'), 3: f('strVal', 'string') };
const TIME: Schema = { 1: f('seconds', 'int') };
const MAP_ENTRY: Record<'stringMap' | 'quantityMap', Schema> = {
  stringMap: { 1: f('key', 'string'), 2: f('value', 'string') },
  quantityMap: { 1: f('key', 'string'), 2: f('value', 'quantity') },
};

function expect(reader: Reader, wire: number, want: number, def: Field): Buffer {
  if (wire !== want) throw wrongWire(def);
  return reader.bytes();
}

const wrongWire = (def: Field) =>
  badRequest(`the protobuf body has a field ${def.name} of the wrong wire type`);
const truncated = () => badRequest('the protobuf body ends inside a field');

/** Protobuf's wire format: varints, and length-delimited fields, skipping what is not read. */
class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  done(): boolean {
    return this.at >= this.buf.length;
  }

  tag(): { field: number; wire: number } {
    const tag = Number(this.varint());
    return { field: tag >>> 3, wire: tag & 7 };
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.at >= this.buf.length) throw truncated();
      const byte = this.buf[this.at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw badRequest('the protobuf body has a varint over ten bytes');
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.at + length > this.buf.length) throw truncated();
    const out = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === LENGTH) this.bytes();
    else if (wire === FIXED64 || wire === FIXED32) {
      this.at += wire === FIXED64 ? 8 : 4;
      if (this.at > this.buf.length) throw truncated();
    } else throw badRequest(`the protobuf body has a field of wire type ${wire}, which is not read`);
  }
}
